// Prompt-task parsing, validation, JSONL examples and the token layout (see prompt_task.h).
// Literals and fields are tokenized one by one so the prompt the trainer sees and the one
// generation feeds are cut at the same places (and truncation can shorten one field only).
#include "engine/train/prompt_task.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace lw::train {
namespace {

using Json = nlohmann::json;

constexpr const char* kMarker = "<|VIRTUAL_PROMPT_";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Splits a template into literals, {field}s and <|VIRTUAL_PROMPT_n|> markers.
Result<std::vector<TemplatePart>> parse_template(const std::string& t, const std::string& where) {
  std::vector<TemplatePart> parts;
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) parts.push_back({TemplatePart::kText, lit, -1});
    lit.clear();
  };
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, std::char_traits<char>::length(kMarker), kMarker) == 0) {
      size_t j = i + std::char_traits<char>::length(kMarker), k = j;
      while (k < t.size() && t[k] >= '0' && t[k] <= '9') ++k;
      if (k == j || k - j > 4 || t.compare(k, 2, "|>") != 0)
        return invalid_argument(where + ": malformed virtual-token marker at character " +
                                std::to_string(i) + " (expected <|VIRTUAL_PROMPT_n|>)");
      flush();
      parts.push_back({TemplatePart::kVirtual, "", std::stoi(t.substr(j, k - j))});
      i = k + 2;
    } else if (t[i] == '{') {
      size_t k = i + 1;
      while (k < t.size() && is_name_char(t[k])) ++k;
      if (k > i + 1 && k < t.size() && t[k] == '}') {
        flush();
        parts.push_back({TemplatePart::kField, t.substr(i + 1, k - i - 1), -1});
        i = k + 1;
      } else {
        lit += t[i++];  // a brace that opens no {name} is literal text
      }
    } else {
      lit += t[i++];
    }
  }
  flush();
  return parts;
}

bool valid_taskname(const std::string& n) {
  if (n.empty() || n.size() > 128) return false;
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return is_name_char(c) || c == '-' || c == '.'; });
}

Result<PromptTask> task_from_json(const Json& j, const std::string& where) {
  LW_CHECK(j.is_object(), where + ": a task must be a JSON object");
  static const std::set<std::string> known = {
      "taskname",       "prompt_template",  "total_virtual_tokens", "virtual_token_splits",
      "truncate_field", "answer_only_loss", "answer_field",         "add_eos"};
  for (const auto& [k, v] : j.items())
    LW_CHECK(known.count(k), where + ": unknown field '" + k + "' (known: taskname, "
                             "prompt_template, total_virtual_tokens, virtual_token_splits, "
                             "truncate_field, answer_only_loss, answer_field, add_eos)");
  PromptTask t;
  auto str = [&](const char* key, std::string* out, bool required) -> Status {
    if (!j.contains(key) || (!required && j[key].is_null())) {
      LW_CHECK(!required, where + ": '" + key + "' is required");
      return Status::ok();
    }
    LW_CHECK(j[key].is_string(), where + ": '" + key + "' must be a string");
    *out = j[key].get<std::string>();
    return Status::ok();
  };
  LW_TRY(str("taskname", &t.taskname, true));
  LW_TRY(str("prompt_template", &t.prompt_template, true));
  LW_TRY(str("truncate_field", &t.truncate_field, false));
  LW_TRY(str("answer_field", &t.answer_field, false));
  LW_CHECK(j.contains("total_virtual_tokens") && j["total_virtual_tokens"].is_number_integer(),
           where + ": 'total_virtual_tokens' (an integer) is required");
  int64_t total = j["total_virtual_tokens"].get<int64_t>();
  LW_CHECK(total >= 1 && total <= 4096,
           where + ": total_virtual_tokens must be in [1, 4096], got " + std::to_string(total));
  t.total_virtual_tokens = int32_t(total);
  if (j.contains("virtual_token_splits") && !j["virtual_token_splits"].is_null()) {
    const Json& s = j["virtual_token_splits"];
    LW_CHECK(s.is_array(), where + ": 'virtual_token_splits' must be an array of integers");
    for (const auto& v : s) {
      LW_CHECK(v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 4096,
               where + ": virtual_token_splits entries must be positive integers");
      t.virtual_token_splits.push_back(int32_t(v.get<int64_t>()));
    }
  }
  for (const char* key : {"answer_only_loss", "add_eos"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    LW_CHECK(j[key].is_boolean(), where + ": '" + key + "' must be true or false");
    (std::string(key) == "add_eos" ? t.add_eos : t.answer_only_loss) = j[key].get<bool>();
  }
  return t;
}

// A plain (unquoted) YAML scalar resolved as YAML 1.2's core schema does: null, booleans,
// integers (decimal, 0x, 0o), floats; anything else is text.
Json plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  const char* b = s.data();
  const char* e = b + s.size();
  int base = 10;
  const char* digits = b + (*b == '+' || *b == '-');
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) base = s[1] == 'x' ? 16 : 8, digits = b + 2;
  int64_t v = 0;
  if (digits < e) {
    auto [p, ec] = std::from_chars(digits, e, v, base);
    if (ec == std::errc() && p == e) return *b == '-' ? -v : v;
  }
  static const std::set<std::string> inf = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
  if (inf.count(s)) return HUGE_VAL;  // nlohmann stores it; validation rejects a non-integer
  double d = 0;
  const char* fb = b + (*b == '+');
  auto [p, ec] = std::from_chars(fb, e, d);
  if (ec == std::errc() && p == e && fb < e && (std::isdigit((unsigned char)*fb) || *fb == '.' || *fb == '-'))
    return d;
  return s;
}

// The YAML tree as the JSON value the JSON loader validates. Quoted scalars stay text.
Result<Json> yaml_to_json(const YAML::Node& n, const std::string& source) {
  const std::string at = source + ":" + std::to_string(n.Mark().line + 1);
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Json(nullptr);
    case YAML::NodeType::Scalar: {
      const std::string& tag = n.Tag();
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return Json(n.Scalar());
      return plain_scalar(n.Scalar());
    }
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& item : n) {
        LW_ASSIGN_OR_RETURN(Json v, yaml_to_json(item, source));
        a.push_back(std::move(v));
      }
      return a;
    }
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) {
        LW_CHECK(kv.first.IsScalar(), at + ": a mapping key must be plain text");
        const std::string key = kv.first.Scalar();
        LW_CHECK(!o.contains(key), source + ":" + std::to_string(kv.first.Mark().line + 1) +
                                       ": key '" + key + "' appears twice");
        LW_ASSIGN_OR_RETURN(o[key], yaml_to_json(kv.second, source));
      }
      return o;
    }
  }
  return invalid_argument(at + ": unexpected YAML node");
}

bool is_yaml_path(const std::string& path) {
  auto ends = [&](const char* x) {
    const size_t n = std::char_traits<char>::length(x);
    if (path.size() < n) return false;
    return std::equal(path.end() - n, path.end(), x, x + n,
                      [](char a, char b) { return std::tolower((unsigned char)a) == b; });
  };
  return ends(".yaml") || ends(".yml");
}

Result<std::vector<PromptTask>> tasks_from_json(const Json& j, const std::string& source);

}  // namespace

std::vector<std::string> PromptTask::fields() const {
  std::vector<std::string> out;
  for (const auto& p : parts)
    if (p.kind == TemplatePart::kField && std::find(out.begin(), out.end(), p.text) == out.end())
      out.push_back(p.text);
  return out;
}

int32_t PromptTask::marker_offset(int32_t marker) const {
  int32_t off = 0;
  for (int32_t i = 0; i < marker && i < int32_t(virtual_token_splits.size()); ++i)
    off += virtual_token_splits[i];
  return off;
}

bool PromptTask::single_leading_block() const {
  int n = 0;
  for (const auto& p : parts) n += p.kind == TemplatePart::kVirtual;
  return n == 1 && !parts.empty() && parts[0].kind == TemplatePart::kVirtual;
}

Status validate_task(PromptTask& t, const std::string& source) {
  const std::string where = source + ": task '" + t.taskname + "'";
  LW_CHECK(valid_taskname(t.taskname),
           source + ": taskname '" + t.taskname + "' must be 1-128 of [A-Za-z0-9_.-]");
  LW_ASSIGN_OR_RETURN(t.parts, parse_template(t.prompt_template, where));
  std::vector<int32_t> markers;
  for (const auto& p : t.parts)
    if (p.kind == TemplatePart::kVirtual) markers.push_back(p.marker);
  LW_CHECK(!markers.empty(), where + ": the template has no <|VIRTUAL_PROMPT_0|> marker");
  std::vector<int32_t> sorted = markers;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    LW_CHECK(sorted[i] == int32_t(i), where + ": markers must be <|VIRTUAL_PROMPT_0|> .. <|VIRTUAL_PROMPT_" +
                                          std::to_string(sorted.size() - 1) + "|>, each once");
  if (t.virtual_token_splits.empty() && markers.size() == 1)
    t.virtual_token_splits = {t.total_virtual_tokens};
  LW_CHECK(t.virtual_token_splits.size() == markers.size(),
           where + ": " + std::to_string(markers.size()) + " markers need " +
               std::to_string(markers.size()) + " virtual_token_splits, got " +
               std::to_string(t.virtual_token_splits.size()));
  int64_t sum = std::accumulate(t.virtual_token_splits.begin(), t.virtual_token_splits.end(), int64_t(0));
  LW_CHECK(sum == t.total_virtual_tokens,
           where + ": virtual_token_splits sum to " + std::to_string(sum) +
               ", not total_virtual_tokens = " + std::to_string(t.total_virtual_tokens));
  auto fields = t.fields();
  auto has = [&](const std::string& f) { return std::find(fields.begin(), fields.end(), f) != fields.end(); };
  LW_CHECK(!t.answer_field.empty() && is_name_char(t.answer_field[0]),
           where + ": answer_field must name a template field");
  if (t.answer_only_loss) {
    LW_CHECK(has(t.answer_field), where + ": answer_only_loss needs the answer field {" +
                                      t.answer_field + "} in the template");
    LW_CHECK(t.parts.back().kind == TemplatePart::kField && t.parts.back().text == t.answer_field,
             where + ": with answer_only_loss the template must end with {" + t.answer_field + "}");
  }
  LW_CHECK(t.truncate_field.empty() || has(t.truncate_field),
           where + ": truncate_field '" + t.truncate_field + "' is not a field of the template");
  LW_CHECK(t.truncate_field.empty() || t.truncate_field != t.answer_field,
           where + ": truncate_field cannot be the answer field");
  return Status::ok();
}

namespace {
Result<std::vector<PromptTask>> tasks_from_json(const Json& j, const std::string& source) {
  Json list = j;
  if (j.is_object() && j.contains("tasks")) {
    LW_CHECK(j.size() == 1, source + ": the top-level object may only hold \"tasks\"");
    list = j["tasks"];
  } else if (j.is_object()) {
    list = Json::array({j});
  }
  LW_CHECK(list.is_array() && !list.empty(), source + ": expected a non-empty list of tasks");
  std::vector<PromptTask> tasks;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    LW_ASSIGN_OR_RETURN(PromptTask t, task_from_json(list[i], source + ": task " + std::to_string(i)));
    LW_TRY(validate_task(t, source));
    LW_CHECK(names.insert(t.taskname).second, source + ": task '" + t.taskname + "' is defined twice");
    tasks.push_back(std::move(t));
  }
  return tasks;
}
}  // namespace

Result<std::vector<PromptTask>> parse_tasks(const std::string& text, const std::string& source) {
  Json j = Json::parse(text, nullptr, false);
  LW_CHECK(!j.is_discarded(), source + ": not valid JSON");
  return tasks_from_json(j, source);
}

Result<std::vector<PromptTask>> parse_tasks_yaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {  // yaml-cpp reports by exception; none may leave the engine
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return invalid_argument(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                            std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return invalid_argument(source + ": cannot read the YAML: " + e.what());
  }
  Result<Json> j = invalid_argument("");
  try {
    j = yaml_to_json(root, source);
  } catch (const std::exception& e) {
    return invalid_argument(source + ": cannot read the YAML: " + e.what());
  }
  LW_TRY(j.status());
  return tasks_from_json(*j, source);
}

Result<std::vector<PromptTask>> parse_tasks_text(const std::string& text, const std::string& source) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '['))
    return parse_tasks(text, source);
  return parse_tasks_yaml(text, source);
}

Result<std::vector<PromptTask>> load_tasks(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LW_CHECK(bool(in), path + ": cannot open the tasks file");
  std::stringstream ss;
  ss << in.rdbuf();
  return is_yaml_path(path) ? parse_tasks_yaml(ss.str(), path) : parse_tasks(ss.str(), path);
}

std::string task_to_json(const PromptTask& t) {
  nlohmann::ordered_json j;
  j["taskname"] = t.taskname;
  j["prompt_template"] = t.prompt_template;
  j["total_virtual_tokens"] = t.total_virtual_tokens;
  j["virtual_token_splits"] = t.virtual_token_splits;
  j["truncate_field"] = t.truncate_field;
  j["answer_only_loss"] = t.answer_only_loss;
  j["answer_field"] = t.answer_field;
  j["add_eos"] = t.add_eos;
  return j.dump();
}

Result<int32_t> task_index_of(const std::vector<PromptTask>& tasks, const PromptExample& ex,
                              const std::string& source) {
  if (ex.taskname.empty()) {
    LW_CHECK(tasks.size() == 1, source + ":" + std::to_string(ex.line) +
                                    ": no \"taskname\" and there are " +
                                    std::to_string(tasks.size()) + " tasks");
    return 0;
  }
  for (size_t i = 0; i < tasks.size(); ++i)
    if (tasks[i].taskname == ex.taskname) return int32_t(i);
  return invalid_argument(source + ":" + std::to_string(ex.line) + ": unknown task '" +
                          ex.taskname + "'");
}

Result<std::vector<PromptExample>> load_examples(const std::string& path,
                                                 const std::vector<PromptTask>& tasks) {
  std::ifstream in(path, std::ios::binary);
  LW_CHECK(bool(in), path + ": cannot open the data file");
  std::vector<PromptExample> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(n);
    Json j = Json::parse(line, nullptr, false);
    LW_CHECK(!j.is_discarded() && j.is_object(), where + ": not JSON (each line must be one JSON object)");
    PromptExample ex;
    ex.line = n;
    for (const auto& [k, v] : j.items()) {
      std::string s;
      if (v.is_string()) s = v.get<std::string>();
      else if (v.is_number() || v.is_boolean()) s = v.dump();
      else return invalid_argument(where + ": field '" + k + "' must be text, a number or a boolean");
      if (k == "taskname") ex.taskname = s;
      else ex.fields[k] = s;
    }
    LW_ASSIGN_OR_RETURN(int32_t ti, task_index_of(tasks, ex, path));
    for (const auto& f : tasks[ti].fields())
      LW_CHECK(ex.fields.count(f), where + ": the template of task '" + tasks[ti].taskname +
                                       "' needs field '" + f + "', which this line lacks");
    out.push_back(std::move(ex));
  }
  LW_CHECK(!out.empty(), path + ": no examples");
  return out;
}

Result<PromptLayout> layout_example(const PromptTask& task, int32_t task_index,
                                    const PromptExample& ex, const Tokenizer& tok,
                                    const LayoutOptions& opts) {
  const std::string where = "task '" + task.taskname + "'" +
                            (ex.line > 0 ? " (line " + std::to_string(ex.line) + ")" : "");
  // The text of every part. Spaces that end a literal move to the start of the field after
  // it ("sentiment: {label}" -> "sentiment:" + " positive"): byte-level BPE spells a word
  // with its leading space as one token, as in running text, never as a lone space token
  // followed by the bare word (a model has not seen that, so the answer is hard to learn).
  std::vector<std::string> texts(task.parts.size());
  for (size_t i = 0; i < task.parts.size(); ++i) {
    const TemplatePart& p = task.parts[i];
    if (p.kind == TemplatePart::kText) texts[i] = p.text;
    if (p.kind != TemplatePart::kField) continue;
    const bool prompt_end = !opts.with_answer && p.text == task.answer_field;
    if (!prompt_end) {  // a generation prompt has no answer yet
      auto it = ex.fields.find(p.text);
      LW_CHECK(it != ex.fields.end(), where + ": the example lacks field '" + p.text + "'");
      texts[i] = it->second;
    }
    if (i > 0 && task.parts[i - 1].kind == TemplatePart::kText) {
      std::string& lit = texts[i - 1];
      const size_t keep = lit.find_last_not_of(' ') + 1;  // npos + 1 == 0: all spaces
      texts[i] = lit.substr(keep) + texts[i];
      lit.resize(keep);
    }
  }
  // Tokenize every part; remember which part is the truncatable field.
  std::vector<std::vector<int32_t>> toks(task.parts.size());
  int64_t total = 0, trunc_part = -1, answer_part = -1;
  for (size_t i = 0; i < task.parts.size(); ++i) {
    const TemplatePart& p = task.parts[i];
    if (p.kind == TemplatePart::kVirtual) {
      total += task.virtual_token_splits[p.marker];
      continue;
    }
    const std::string& text = texts[i];
    if (p.kind == TemplatePart::kField) {
      if (p.text == task.answer_field) {
        answer_part = int64_t(i);
        if (!opts.with_answer) break;  // generation prompts end where the answer starts
      }
      if (p.text == task.truncate_field && trunc_part < 0) trunc_part = int64_t(i);
    }
    LW_ASSIGN_OR_RETURN(Encoding e, tok.encode(text, false));
    toks[i] = std::move(e.ids);
    if (opts.with_answer && int64_t(i) == answer_part && task.add_eos && tok.special_tokens().eos >= 0)
      toks[i].push_back(tok.special_tokens().eos);
    total += int64_t(toks[i].size());
  }
  LW_CHECK(opts.with_answer || answer_part >= 0,
           where + ": the template has no answer field {" + task.answer_field + "} to generate");
  if (opts.max_length > 0 && total > opts.max_length) {
    const int64_t excess = total - opts.max_length;
    LW_CHECK(trunc_part >= 0 && int64_t(toks[trunc_part].size()) > excess,
             where + ": the example is " + std::to_string(total) + " tokens, the limit " +
                 std::to_string(opts.max_length) +
                 (trunc_part < 0 ? ", and the task has no truncate_field"
                                 : ", and truncating '" + task.truncate_field + "' is not enough"));
    toks[trunc_part].resize(toks[trunc_part].size() - size_t(excess));
    total = opts.max_length;
  }
  PromptLayout L;
  L.task = task_index;
  for (size_t i = 0; i < task.parts.size(); ++i) {
    const TemplatePart& p = task.parts[i];
    if (!opts.with_answer && int64_t(i) == answer_part) break;
    const bool answer = int64_t(i) == answer_part;
    if (answer) L.answer_start = int64_t(L.ids.size());
    if (p.kind == TemplatePart::kVirtual) {
      const int32_t off = task.marker_offset(p.marker);
      for (int32_t r = 0; r < task.virtual_token_splits[p.marker]; ++r) {
        L.ids.push_back(0);
        L.virtual_row.push_back(off + r);
        L.labels.push_back(-100);
      }
      continue;
    }
    for (int32_t id : toks[i]) {
      L.ids.push_back(id);
      L.virtual_row.push_back(-1);
      L.labels.push_back(!task.answer_only_loss || answer ? id : -100);
    }
    if (answer) L.answer_ids = toks[i];
  }
  LW_CHECK(!L.ids.empty(), where + ": the layout is empty");
  return L;
}

}  // namespace lw::train
