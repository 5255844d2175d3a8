// Prompt-table files and PEFT adapter folders (see prompt_table.h). The model identity hashes
// the token embeddings because two checkpoints of one architecture and size are otherwise
// indistinguishable, and a prompt tuned on one means nothing on the other.
#include "engine/train/prompt_table.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "engine/store/sha256.h"

namespace lw::train {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kFormat = "llmwb-prompt-table";
constexpr const char* kTensorPrefix = "prompt_table.";

Json identity_json(const ModelIdentity& m) {
  return {{"architecture", m.architecture},
          {"hidden_size", m.hidden_size},
          {"vocab_size", m.vocab_size},
          {"embedding_sha256", m.embedding_sha256}};
}

std::string describe(const ModelIdentity& m) {
  return m.architecture + " (hidden " + std::to_string(m.hidden_size) + ", vocabulary " +
         std::to_string(m.vocab_size) + ", embedding sha256 " + m.embedding_sha256.substr(0, 12) + ")";
}

Result<std::vector<float>> read_f32(const io::SafeTensorsFile& f, const io::StTensorInfo& t) {
  std::vector<float> v(size_t(t.numel));
  LW_TRY(io::copy_as_f32(f.path() + ": tensor '" + t.name + "'", t.dtype, f.data(t), t.numel, v.data()));
  return v;
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LW_CHECK(bool(in), path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<const models::Param*> token_embedding(const models::Model& model) {
  for (const auto& p : model.params())
    if (p.spec.name == "wte" || p.spec.name == "embed") return &p;
  return unsupported(model.architecture() + " has no token-embedding table for prompt tuning");
}

Result<ModelIdentity> model_identity(const models::Model& model) {
  LW_ASSIGN_OR_RETURN(const models::Param* emb, token_embedding(model));
  const Tensor& w = emb->master.defined() ? emb->master : emb->value;
  LW_ASSIGN_OR_RETURN(std::vector<float> host, w.to_float_vector());
  Sha256 h;
  h.update(host.data(), host.size() * sizeof(float));  // little-endian hosts only (x86, arm64)
  return ModelIdentity{model.architecture(), emb->spec.shape[1], emb->spec.shape[0], h.hex_digest()};
}

const PromptTableEntry* PromptTable::find(const std::string& name) const {
  for (const auto& e : tasks)
    if (e.task.taskname == name) return &e;
  return nullptr;
}

void PromptTable::put(PromptTableEntry entry) {
  for (auto& e : tasks)
    if (e.task.taskname == entry.task.taskname) {
      e = std::move(entry);
      return;
    }
  tasks.push_back(std::move(entry));
}

Status save_prompt_table(const PromptTable& table, const std::string& path) {
  LW_CHECK(!table.tasks.empty(), path + ": a prompt table needs at least one task");
  std::vector<io::StTensorData> out;
  Json tasks = Json::array();
  for (const auto& e : table.tasks) {
    const int64_t n = e.task.total_virtual_tokens;
    LW_CHECK(int64_t(e.table.size()) == n * table.model.hidden_size,
             "task '" + e.task.taskname + "': table has " + std::to_string(e.table.size()) +
                 " values, expected " + std::to_string(n) + " x " + std::to_string(table.model.hidden_size));
    out.push_back({kTensorPrefix + e.task.taskname, io::StDtype::kF32, {n, table.model.hidden_size},
                   e.table.data(), e.table.size() * sizeof(float)});
    tasks.push_back(Json::parse(task_to_json(e.task)));
  }
  Json training = Json::parse(table.training_json, nullptr, false);
  if (training.is_discarded()) training = Json::object();
  std::map<std::string, std::string> meta = {{"format", kFormat},
                                             {"version", "1"},
                                             {"base_model", identity_json(table.model).dump()},
                                             {"tasks", tasks.dump()},
                                             {"training", training.dump()}};
  return io::write_safetensors(path, out, meta);
}

Result<PromptTable> load_prompt_table(const std::string& path) {
  LW_ASSIGN_OR_RETURN(io::SafeTensorsFile f, io::SafeTensorsFile::open(path));
  const auto& meta = f.metadata();
  auto get = [&](const char* k) -> std::string {
    auto it = meta.find(k);
    return it == meta.end() ? "" : it->second;
  };
  LW_CHECK(get("format") == kFormat,
           path + ": not a prompt table (__metadata__.format is '" + get("format") + "', expected '" +
               kFormat + "'); a PEFT adapter folder is imported with --peft-dir / import");
  LW_CHECK(get("version") == "1", path + ": prompt-table version '" + get("version") + "' is not supported");
  PromptTable t;
  Json bm = Json::parse(get("base_model"), nullptr, false);
  LW_CHECK(!bm.is_discarded() && bm.is_object() && bm.value("hidden_size", 0) > 0,
           path + ": __metadata__.base_model is missing or not valid JSON");
  t.model.architecture = bm.value("architecture", "");
  t.model.hidden_size = bm.value("hidden_size", int64_t(0));
  t.model.vocab_size = bm.value("vocab_size", int64_t(0));
  t.model.embedding_sha256 = bm.value("embedding_sha256", "");
  t.training_json = get("training").empty() ? "{}" : get("training");
  LW_ASSIGN_OR_RETURN(std::vector<PromptTask> tasks, parse_tasks(get("tasks"), path + ": __metadata__.tasks"));
  for (auto& task : tasks) {
    const io::StTensorInfo* info = f.find(kTensorPrefix + task.taskname);
    LW_CHECK(info, path + ": task '" + task.taskname + "' has no tensor '" + kTensorPrefix + task.taskname + "'");
    LW_CHECK(info->shape == (std::vector<int64_t>{task.total_virtual_tokens, t.model.hidden_size}),
             path + ": tensor '" + info->name + "' has shape " + shape_to_string(info->shape) +
                 ", expected [" + std::to_string(task.total_virtual_tokens) + ", " +
                 std::to_string(t.model.hidden_size) + "]");
    LW_ASSIGN_OR_RETURN(std::vector<float> v, read_f32(f, *info));
    t.tasks.push_back({std::move(task), std::move(v)});
  }
  return t;
}

Status check_table_fits(const PromptTable& table, const ModelIdentity& m, const std::string& path) {
  const ModelIdentity& t = table.model;
  if (t.hidden_size != m.hidden_size || t.vocab_size != m.vocab_size ||
      t.architecture != m.architecture ||
      (!t.embedding_sha256.empty() && t.embedding_sha256 != m.embedding_sha256))
    return invalid_argument(path + ": this prompt table was trained on " + describe(t) +
                            ", not on the loaded model " + describe(m) +
                            "; a tuned prompt only works on the model it was trained on");
  return Status::ok();
}

Status export_peft_adapter(const PromptTable& table, const std::string& taskname,
                           const std::string& dir, const std::string& base_model) {
  const PromptTableEntry* e = table.find(taskname);
  LW_CHECK(e, "prompt table has no task '" + taskname + "'");
  LW_CHECK(e->task.single_leading_block(),
           "task '" + taskname + "': PEFT prepends one block of virtual tokens, but the template '" +
               e->task.prompt_template + "' places them elsewhere or in several blocks");
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return io_error(dir + ": cannot create folder (" + std::strerror(errno) + ")");
  Json cfg = {{"auto_mapping", nullptr},
              {"base_model_name_or_path", base_model},
              {"inference_mode", true},
              {"num_attention_heads", nullptr},
              {"num_layers", nullptr},
              {"num_transformer_submodules", 1},
              {"num_virtual_tokens", e->task.total_virtual_tokens},
              {"peft_type", "PROMPT_TUNING"},
              {"prompt_tuning_init", "RANDOM"},
              {"prompt_tuning_init_text", nullptr},
              {"revision", nullptr},
              {"task_type", "CAUSAL_LM"},
              {"token_dim", table.model.hidden_size},
              {"tokenizer_kwargs", nullptr},
              {"tokenizer_name_or_path", nullptr}};
  std::vector<io::StTensorData> out = {{"prompt_embeddings", io::StDtype::kF32,
                                        {e->task.total_virtual_tokens, table.model.hidden_size},
                                        e->table.data(), e->table.size() * sizeof(float)}};
  LW_TRY(io::write_safetensors(dir + "/adapter_model.safetensors", out, {{"format", "pt"}}));
  return io::write_file_atomic(dir + "/adapter_config.json", cfg.dump(2) + "\n");
}

Result<PromptTableEntry> import_peft_adapter(const std::string& dir, const std::string& taskname,
                                             int64_t hidden_size) {
  const std::string cfg_path = dir + "/adapter_config.json";
  LW_ASSIGN_OR_RETURN(std::string text, read_text(cfg_path));
  Json cfg = Json::parse(text, nullptr, false);
  LW_CHECK(!cfg.is_discarded() && cfg.is_object(), cfg_path + ": not valid JSON");
  const std::string type = cfg.value("peft_type", "");
  LW_CHECK(type == "PROMPT_TUNING" || type == "P_TUNING",
           cfg_path + ": peft_type '" + type + "' is not a prompt-tuning adapter (PROMPT_TUNING, P_TUNING)");
  const std::string task_type = cfg.value("task_type", "CAUSAL_LM");
  LW_CHECK(task_type == "CAUSAL_LM", cfg_path + ": task_type '" + task_type + "' is not CAUSAL_LM");
  const int64_t n = cfg.value("num_virtual_tokens", int64_t(0));
  const int64_t sub = cfg.value("num_transformer_submodules", int64_t(1));
  const int64_t dim = cfg.value("token_dim", hidden_size);
  LW_CHECK(n >= 1 && n <= 4096, cfg_path + ": num_virtual_tokens must be in [1, 4096]");
  LW_CHECK(sub == 1, cfg_path + ": num_transformer_submodules " + std::to_string(sub) + " (decoders use 1)");
  LW_CHECK(dim == hidden_size, cfg_path + ": token_dim " + std::to_string(dim) +
                                   " does not match the model's hidden size " + std::to_string(hidden_size));
  const std::string st_path = dir + "/adapter_model.safetensors";
  LW_ASSIGN_OR_RETURN(io::SafeTensorsFile f, io::SafeTensorsFile::open(st_path));
  const io::StTensorInfo* info = f.find("prompt_embeddings");
  LW_CHECK(info, st_path + ": no tensor 'prompt_embeddings' (p-tuning adapters must be saved in inference mode)");
  LW_CHECK(info->shape == (std::vector<int64_t>{n, hidden_size}),
           st_path + ": prompt_embeddings has shape " + shape_to_string(info->shape) + ", expected [" +
               std::to_string(n) + ", " + std::to_string(hidden_size) + "]");
  PromptTableEntry e;
  e.task.taskname = taskname;
  e.task.prompt_template = "<|VIRTUAL_PROMPT_0|>{text}{label}";
  e.task.total_virtual_tokens = int32_t(n);
  LW_TRY(validate_task(e.task, dir));
  LW_ASSIGN_OR_RETURN(e.table, read_f32(f, *info));
  return e;
}

}  // namespace lw::train
