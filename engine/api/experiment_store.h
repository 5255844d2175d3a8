// The experiment store: one SQLite database per workbench project
// (<project>/experiments.sqlite) that records every run: its parameters,
// metric curves, artifacts, notes and the machine it ran on. Training code
// writes through it; the Experiments page and `llmwb runs` read it.
// Implementation: engine/store/ (sqlite3 C API, WAL, synchronous=FULL).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace lw {

enum class RunStatus { kCreated, kRunning, kOk, kFailed, kCancelled, kInterrupted };
const char* run_status_name(RunStatus s);                 // "created", "running", "ok", ...
Result<RunStatus> parse_run_status(const std::string& s);

struct RunSpec {
  std::string kind;             // "classify", "ner", "causal-lm", "prompt", "bench", ...
  std::string name;             // user-visible name; may be empty
  std::string model;            // model folder or preset
  std::string dataset;          // dataset path(s) or description
  std::string parameters_json;  // a JSON object with every hyper-parameter ("{}" when none)
};

struct RunRecord {
  int64_t id = 0;
  std::string kind, name, model, dataset, parameters_json;
  RunStatus status = RunStatus::kCreated;
  double created = 0, started = 0, ended = 0;  // unix seconds; 0 = not yet
  double heartbeat = 0;                        // last sign of life of the writer
  std::string error_message;                   // failed / interrupted reason
  std::vector<std::string> tags;
  std::string notes;
  // Last value of every metric, for tables ("eval/accuracy" -> 0.93).
  std::vector<std::pair<std::string, double>> final_metrics;
};

struct MetricPoint {
  int64_t step = 0;
  std::string name;      // "train/loss", "eval/f1", "lr" ...
  double value = 0;
  double wall_time = 0;  // unix seconds
};

struct MetricSeries {
  std::string name;
  std::vector<int64_t> steps;
  std::vector<double> values;
  std::vector<double> wall_times;
};

struct Artifact {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string kind;    // "checkpoint/best", "report", "prompt-table", "engine" ...
  std::string path;    // absolute, or relative to the project folder
  std::string sha256;  // hex; computed by add_artifact for files (folders: empty)
  int64_t bytes = 0;
};

struct SystemInfo {
  std::string host, cpu, gpu, driver, build;
};

struct RunFilter {
  std::string kind;           // empty = any
  std::optional<RunStatus> status;
  std::string text;           // substring of name, model, dataset or tags
  int limit = 0;              // 0 = all, newest first
};

// How open_with() opens a store; open() uses the defaults.
struct StoreOpenOptions {
  bool create_if_missing = true;
  int busy_timeout_ms = 5000;        // how long to wait for another writer's transaction
  double stale_heartbeat_s = 120;    // runs of writers on other machines: silent this long = interrupted
};

// One open database. Not thread-safe: use one ExperimentStore per thread
// (SQLite handles several connections and processes; WAL lets readers run
// while a writer writes).
class ExperimentStore {
 public:
  // Opens (creating when allowed) <project_dir>/experiments.sqlite, migrates an
  // older schema forward, and marks runs whose writer process is gone as
  // interrupted. Errors name the file: locked by another writer, read-only,
  // corrupt, newer schema than this build knows.
  static Result<std::unique_ptr<ExperimentStore>> open(const std::string& project_dir,
                                                        bool create_if_missing = true);
  static Result<std::unique_ptr<ExperimentStore>> open_with(const std::string& project_dir,
                                                             const StoreOpenOptions& options);
  // Read-only view for browsers (the Experiments page): never writes, never migrates
  // (an older schema gives an error that says to open it once with write access).
  // Runs whose writer is gone still read as interrupted (computed, not stored).
  static Result<std::unique_ptr<ExperimentStore>> open_read_only(const std::string& project_dir);
  // The schema version of <project_dir>/experiments.sqlite without writing anything
  // (to choose between open and open_read_only). Errors: missing, corrupt, locked.
  static Result<int> peek_schema_version(const std::string& project_dir);
  ~ExperimentStore();
  ExperimentStore(const ExperimentStore&) = delete;
  ExperimentStore& operator=(const ExperimentStore&) = delete;

  const std::string& path() const;         // <project_dir>/experiments.sqlite
  // This connection's PRAGMA synchronous (2 = FULL, what a writable store runs with: a
  // committed run record survives a power cut, not only a killed process).
  Result<int64_t> synchronous_level() const;
  const std::string& project_dir() const;
  bool read_only() const;
  static int schema_version();  // the version this build writes

  // Writer side. create_run records this process as the run's writer (pid +
  // process start time) and marks it running; log_metrics and heartbeat() refresh
  // liveness. Readers on the same machine see a dead writer at once (pid + start
  // time); readers elsewhere rely on the heartbeat, so a writer that can go quiet
  // longer than stale_heartbeat_s (default 120 s) should call heartbeat() meanwhile.
  Result<int64_t> create_run(const RunSpec& spec);
  Status log_metrics(int64_t run_id, const std::vector<MetricPoint>& batch);  // one transaction
  Status heartbeat(int64_t run_id);
  Result<int64_t> add_artifact(int64_t run_id, const std::string& kind, const std::string& path);
  Status finish_run(int64_t run_id, RunStatus status, const std::string& error_message = "");
  Status set_notes(int64_t run_id, const std::string& notes);
  Status set_tags(int64_t run_id, const std::vector<std::string>& tags);
  Status record_system_info(int64_t run_id, const SystemInfo& info);

  // Reader side.
  Result<std::vector<RunRecord>> list_runs(const RunFilter& filter = {});
  Result<RunRecord> get_run(int64_t run_id);
  Result<std::vector<std::string>> metric_names(int64_t run_id);
  // Ordered by step; a metric the run never logged gives an empty series.
  // NaN values are stored and read back as NaN.
  Result<MetricSeries> read_metric(int64_t run_id, const std::string& name);
  Result<std::vector<Artifact>> artifacts(int64_t run_id);
  Result<SystemInfo> system_info(int64_t run_id);  // empty fields when none was recorded
  // A number that changes whenever any run or metric changes (for live refresh polling).
  Result<int64_t> change_counter();
  // Re-checks writers' liveness (dead pid or stale heartbeat) and marks those runs interrupted.
  // A read-only store writes nothing: its readers already show such runs as interrupted.
  Status mark_dead_runs_interrupted();

  // Deletes the run's rows; with delete_files, also its artifact files/folders
  // that lie inside the project folder.
  Status delete_run(int64_t run_id, bool delete_files = false);
  // Writes atomically (temporary file, then rename).
  Status export_run_csv(int64_t run_id, const std::string& out_path);   // step,name,value,wall_time
  Status export_run_json(int64_t run_id, const std::string& out_path);  // run, metrics, artifacts, system

  struct Impl;

 private:
  explicit ExperimentStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lw
