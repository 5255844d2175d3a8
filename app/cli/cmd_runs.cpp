// `llmwb runs list|show|delete|export`: the Experiments page's twin on the
// command line. Reads through a read-only view when the schema is current
// (so a read-only project can be browsed), opens for writing to migrate an
// older store, and always for delete.
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "engine/api/experiment_store.h"

namespace {

using lw::ExperimentStore;
using Json = nlohmann::json;

const char* kUsage =
    "Usage: llmwb runs list   --project DIR [--kind K] [--status S] [--text T] [--limit N] [--json]\n"
    "       llmwb runs show   ID --project DIR [--json]\n"
    "       llmwb runs delete ID --project DIR [--delete-files] [--json]\n"
    "       llmwb runs export ID --project DIR --format csv|json --out FILE [--json]\n"
    "\n"
    "Browse and manage the runs recorded in <DIR>/experiments.sqlite.\n"
    "\n"
    "  list      runs, newest first. --kind (classify, ner, causal-lm, prompt, bench, ...),\n"
    "            --status (created, running, ok, failed, cancelled, interrupted),\n"
    "            --text (substring of name, model, dataset or a tag, any case), --limit N.\n"
    "  show      one run: parameters, final metrics, metric series, artifacts, system.\n"
    "  delete    removes the run's rows without asking; --delete-files also removes its\n"
    "            artifact files and folders that lie inside the project folder.\n"
    "  export    metric points as CSV (step,name,value,wall_time) or the whole run as\n"
    "            JSON, written atomically to --out.\n"
    "  --json    print one JSON document on stdout instead of text.\n"
    "\n"
    "Errors go to stderr; the exit code is 1 on failure, 2 on a usage error.";

Json number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

std::string when(double t) {
  if (t <= 0) return "-";
  std::time_t s = std::time_t(t);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", std::localtime(&s));
  return buf;
}

double duration_s(const lw::RunRecord& r) {
  if (r.started <= 0) return 0;
  double end = r.ended > 0 ? r.ended : std::max(r.heartbeat, r.started);
  return end - r.started;
}

std::string format_duration(double s) {
  char buf[32];
  long t = long(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof(buf), "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60) std::snprintf(buf, sizeof(buf), "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof(buf), "%lds", t);
  return buf;
}

Json run_json(const lw::RunRecord& r) {
  Json finals = Json::object();
  for (const auto& [name, value] : r.final_metrics) finals[name] = number(value);
  Json params = Json::parse(r.parameters_json, nullptr, false);
  return {{"id", r.id}, {"kind", r.kind}, {"name", r.name}, {"model", r.model},
          {"dataset", r.dataset}, {"status", lw::run_status_name(r.status)},
          {"created", r.created}, {"started", r.started}, {"ended", r.ended},
          {"heartbeat", r.heartbeat}, {"duration_s", duration_s(r)},
          {"error_message", r.error_message}, {"tags", r.tags}, {"notes", r.notes},
          {"parameters", params.is_discarded() ? Json(r.parameters_json) : params},
          {"final_metrics", finals}};
}

// Read-only when the schema is current, so browsing never needs write access.
lw::Result<std::unique_ptr<ExperimentStore>> open_for_reading(const std::string& project) {
  auto version = ExperimentStore::peek_schema_version(project);
  if (!version.is_ok()) return version.status();
  if (*version < ExperimentStore::schema_version()) return ExperimentStore::open(project, false);
  return ExperimentStore::open_read_only(project);
}

int list_runs(ExperimentStore& store, const lwcli::Args& args, bool json) {
  lw::RunFilter filter;
  filter.kind = args.get("kind");
  filter.text = args.get("text");
  if (args.has("status")) {
    auto st = lw::parse_run_status(args.get("status"));
    if (!st.is_ok()) return lwcli::usage_error("runs", "--status: " + st.status().message());
    filter.status = *st;
  }
  long long limit = 0;
  std::string err;
  if (!args.get_int("limit", 0, &limit, &err)) return lwcli::usage_error("runs", err);
  if (limit < 0) return lwcli::usage_error("runs", "--limit must be 0 or more");
  filter.limit = int(limit);
  auto runs = store.list_runs(filter);
  if (!runs.is_ok()) return lwcli::fail("runs", runs.status().message());
  if (json) {
    Json list = Json::array();
    for (const auto& r : *runs) list.push_back(run_json(r));
    std::printf("%s\n", Json{{"project", store.project_dir()}, {"runs", list}}.dump(2).c_str());
    return 0;
  }
  if (runs->empty()) {
    std::printf("No runs in %s\n", store.path().c_str());
    return 0;
  }
  std::printf("%-5s %-11s %-12s %-24s %-20s %-19s %9s  %s\n", "ID", "KIND", "STATUS", "NAME",
              "MODEL", "STARTED", "DURATION", "FINAL METRICS");
  for (const auto& r : *runs) {
    std::string finals;
    for (size_t i = 0; i < r.final_metrics.size() && i < 3; ++i) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "%s%s=%.4g", i ? " " : "", r.final_metrics[i].first.c_str(),
                    r.final_metrics[i].second);
      finals += buf;
    }
    if (r.final_metrics.size() > 3) finals += " ...";
    std::printf("%-5lld %-11s %-12s %-24s %-20s %-19s %9s  %s\n", (long long)r.id, r.kind.c_str(),
                lw::run_status_name(r.status), r.name.substr(0, 24).c_str(),
                r.model.substr(0, 20).c_str(), when(r.started).c_str(),
                format_duration(duration_s(r)).c_str(), finals.c_str());
  }
  return 0;
}

int show_run(ExperimentStore& store, int64_t id, bool json) {
  auto run = store.get_run(id);
  if (!run.is_ok()) return lwcli::fail("runs", run.status().message());
  auto names = store.metric_names(id);
  auto arts = store.artifacts(id);
  auto sys = store.system_info(id);
  if (!names.is_ok()) return lwcli::fail("runs", names.status().message());
  if (!arts.is_ok()) return lwcli::fail("runs", arts.status().message());
  if (!sys.is_ok()) return lwcli::fail("runs", sys.status().message());
  Json metrics = Json::object();
  for (const auto& name : *names) {
    auto m = store.read_metric(id, name);
    if (!m.is_ok()) return lwcli::fail("runs", m.status().message());
    metrics[name] = {{"points", m->steps.size()},
                     {"first_step", m->steps.front()}, {"last_step", m->steps.back()},
                     {"last_value", number(m->values.back())}};
  }
  Json artifacts = Json::array();
  for (const auto& a : *arts)
    artifacts.push_back({{"id", a.id}, {"kind", a.kind}, {"path", a.path}, {"sha256", a.sha256},
                         {"bytes", a.bytes}});
  Json system = {{"host", sys->host}, {"cpu", sys->cpu}, {"gpu", sys->gpu},
                 {"driver", sys->driver}, {"build", sys->build}};
  if (json) {
    Json doc = run_json(*run);
    doc["metrics"] = metrics;
    doc["artifacts"] = artifacts;
    doc["system"] = system;
    std::printf("%s\n", doc.dump(2).c_str());
    return 0;
  }
  const auto& r = *run;
  std::printf("Run %lld: %s\n", (long long)r.id, r.name.empty() ? "(no name)" : r.name.c_str());
  std::printf("  kind      %s\n  status    %s%s%s\n", r.kind.c_str(), lw::run_status_name(r.status),
              r.error_message.empty() ? "" : " - ", r.error_message.c_str());
  std::printf("  model     %s\n  dataset   %s\n", r.model.c_str(), r.dataset.c_str());
  std::printf("  started   %s\n  ended     %s\n  duration  %s\n", when(r.started).c_str(),
              when(r.ended).c_str(), format_duration(duration_s(r)).c_str());
  if (!r.tags.empty()) {
    std::string tags;
    for (const auto& t : r.tags) tags += (tags.empty() ? "" : ", ") + t;
    std::printf("  tags      %s\n", tags.c_str());
  }
  if (!r.notes.empty()) std::printf("  notes     %s\n", r.notes.c_str());
  std::printf("Parameters:\n  %s\n", r.parameters_json.c_str());
  std::printf("Metrics:\n");
  for (const auto& [name, m] : metrics.items())
    std::printf("  %-28s %6zu points, steps %lld..%lld, last %s\n", name.c_str(),
                m["points"].get<size_t>(), m["first_step"].get<long long>(),
                m["last_step"].get<long long>(), m["last_value"].dump().c_str());
  if (arts->empty()) std::printf("Artifacts: none\n");
  else std::printf("Artifacts:\n");
  for (const auto& a : *arts)
    std::printf("  %-18s %s (%lld bytes%s%s)\n", a.kind.c_str(), a.path.c_str(),
                (long long)a.bytes, a.sha256.empty() ? "" : ", sha256 ", a.sha256.c_str());
  if (!sys->host.empty() || !sys->gpu.empty())
    std::printf("System: host %s, CPU %s, GPU %s, driver %s, build %s\n", sys->host.c_str(),
                sys->cpu.c_str(), sys->gpu.c_str(), sys->driver.c_str(), sys->build.c_str());
  return 0;
}

int run_runs(const std::vector<std::string>& argv) {
  lwcli::Args args;
  std::string err;
  if (!args.parse(argv, {"json", "delete-files"}, &err)) return lwcli::usage_error("runs", err);
  auto unknown = args.unknown({"project", "json", "kind", "status", "text", "limit",
                               "delete-files", "format", "out"});
  if (!unknown.empty()) return lwcli::usage_error("runs", "unknown option --" + unknown[0]);
  const auto& pos = args.positional();
  if (pos.empty()) return lwcli::usage_error("runs", "missing sub-command (list, show, delete, export)");
  const std::string& sub = pos[0];
  if (sub != "list" && sub != "show" && sub != "delete" && sub != "export")
    return lwcli::usage_error("runs", "unknown sub-command '" + sub + "'");
  if (!args.has("project") || args.get("project").empty())
    return lwcli::usage_error("runs", "--project DIR is required");
  std::string project = args.get("project");
  bool json = args.has("json");
  if (sub == "list") {
    if (pos.size() > 1) return lwcli::usage_error("runs", "list takes no run id");
    auto store = open_for_reading(project);
    if (!store.is_ok()) return lwcli::fail("runs", store.status().message());
    return list_runs(**store, args, json);
  }
  if (pos.size() != 2) return lwcli::usage_error("runs", sub + " takes exactly one run id");
  char* end = nullptr;
  long long id = std::strtoll(pos[1].c_str(), &end, 10);
  if (pos[1].empty() || *end != '\0' || id <= 0)
    return lwcli::usage_error("runs", "run id must be a positive integer, got '" + pos[1] + "'");
  if (sub == "show") {
    auto store = open_for_reading(project);
    if (!store.is_ok()) return lwcli::fail("runs", store.status().message());
    return show_run(**store, id, json);
  }
  if (sub == "delete") {
    auto store = ExperimentStore::open(project, /*create_if_missing=*/false);
    if (!store.is_ok()) return lwcli::fail("runs", store.status().message());
    bool files = args.has("delete-files");
    lw::Status st = (*store)->delete_run(id, files);
    if (!st.is_ok()) return lwcli::fail("runs", st.message());
    if (json) std::printf("%s\n", Json{{"deleted", id}, {"files_deleted", files}}.dump(2).c_str());
    else std::printf("Deleted run %lld%s\n", id, files ? " and its files" : "");
    return 0;
  }
  std::string format = args.get("format"), out = args.get("out");
  if (format != "csv" && format != "json")
    return lwcli::usage_error("runs", "export needs --format csv or --format json");
  if (out.empty()) return lwcli::usage_error("runs", "export needs --out FILE");
  auto store = open_for_reading(project);
  if (!store.is_ok()) return lwcli::fail("runs", store.status().message());
  lw::Status st = format == "csv" ? (*store)->export_run_csv(id, out)
                                  : (*store)->export_run_json(id, out);
  if (!st.is_ok()) return lwcli::fail("runs", st.message());
  if (json) std::printf("%s\n", Json{{"exported", id}, {"format", format}, {"out", out}}.dump(2).c_str());
  else std::printf("Exported run %lld to %s\n", id, out.c_str());
  return 0;
}

const lwcli::CommandRegistration kRegistration({"runs", "list, show, delete and export recorded runs",
                                                kUsage, run_runs});

}  // namespace
