// ExperimentStore: opening (checks, migration, interrupted detection) and the
// writer side. Open refuses, with the file named, anything it cannot safely
// write: a read-only file or folder, a corrupt file, a newer schema, a database
// held by another writer; in each case it writes nothing.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/store/schema.h"
#include "engine/store/sha256.h"
#include "engine/store/store_impl.h"

namespace lw {
namespace fs = std::filesystem;
using store::Stmt;
using store::WriteTxn;

namespace store {
double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}
}  // namespace store

namespace {

std::string db_path(const std::string& project_dir) {
  return (fs::path(project_dir) / "experiments.sqlite").string();
}

// Root passes access(W_OK) on anything, so a file whose write bits are all
// cleared counts as read-only too: the user marked it so.
bool writable(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return false;
  return access(path.c_str(), W_OK) == 0 && (st.st_mode & 0222) != 0;
}

// Reads the schema and its version; fails on a corrupt or foreign file before
// anything is written. Returns user_version.
Result<int> probe(store::Db& db) {
  LW_ASSIGN_OR_RETURN(int64_t n_objects, db.query_int("SELECT count(*) FROM sqlite_master"));
  LW_ASSIGN_OR_RETURN(int64_t version, db.query_int("PRAGMA user_version"));
  if (version == 0 && n_objects > 0)
    return invalid_argument(db.path() +
                            ": not an experiment database (it has tables but no schema version)");
  if (version > store::kSchemaVersion)
    return unsupported(db.path() + ": schema version " + std::to_string(version) +
                       " is newer than this build understands (" +
                       std::to_string(store::kSchemaVersion) +
                       "); open it with a newer LLM Workbench");
  return int(version);
}

Status check_writable(const std::string& project_dir, const std::string& path, bool exists) {
  if (exists && !writable(path))
    return io_error(path + ": the database file is read-only; open it read-only to browse it");
  if (!writable(project_dir))
    return io_error(project_dir + ": the project folder is read-only (SQLite needs to create " +
                    fs::path(path).filename().string() + "-wal beside the database)");
  return Status::ok();
}

}  // namespace

ExperimentStore::ExperimentStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ExperimentStore::~ExperimentStore() = default;

const std::string& ExperimentStore::path() const { return impl_->db.path(); }
Result<int64_t> ExperimentStore::synchronous_level() const { return impl_->db.query_int("PRAGMA synchronous"); }
const std::string& ExperimentStore::project_dir() const { return impl_->project_dir; }
bool ExperimentStore::read_only() const { return impl_->read_only; }
int ExperimentStore::schema_version() { return store::kSchemaVersion; }

Result<std::unique_ptr<ExperimentStore>> ExperimentStore::open(const std::string& project_dir,
                                                               bool create_if_missing) {
  StoreOpenOptions options;
  options.create_if_missing = create_if_missing;
  return open_with(project_dir, options);
}

Result<std::unique_ptr<ExperimentStore>> ExperimentStore::open_with(
    const std::string& project_dir, const StoreOpenOptions& options) {
  std::string path = db_path(project_dir);
  std::error_code ec;
  if (!fs::is_directory(project_dir, ec))
    return not_found(project_dir + ": the project folder does not exist");
  bool exists = fs::exists(path, ec);
  if (!exists && !options.create_if_missing)
    return not_found(path + ": no experiment database in this project");
  LW_TRY(check_writable(project_dir, path, exists));

  auto impl = std::make_unique<Impl>();
  impl->project_dir = project_dir;
  impl->options = options;
  store::Db& db = impl->db;
  int flags = SQLITE_OPEN_READWRITE | (exists ? 0 : SQLITE_OPEN_CREATE);
  LW_TRY(db.open(path, flags, options.busy_timeout_ms));
  if (sqlite3_db_readonly(db.handle(), "main") == 1)
    return io_error(path + ": the database can only be opened read-only");
  LW_ASSIGN_OR_RETURN(int version, probe(db));
  (void)version;

  LW_ASSIGN_OR_RETURN(std::string mode, db.query_text("PRAGMA journal_mode=WAL"));
  if (mode != "wal") return io_error(path + ": cannot switch to WAL mode (got '" + mode + "')");
  LW_TRY(db.exec("PRAGMA synchronous=FULL"));

  // Schema and interrupted runs in one write transaction: a second process
  // opening at the same time waits, then sees the migrated schema.
  WriteTxn txn(db);
  LW_TRY(txn.begin());
  LW_ASSIGN_OR_RETURN(version, probe(db));  // again, under the write lock
  bool changed = false;
  if (version == 0) {
    LW_TRY(store::create_schema(db));
    changed = true;
  } else if (version < store::kSchemaVersion) {
    LW_TRY(store::migrate_schema(db, version));
    changed = true;
  }
  LW_ASSIGN_OR_RETURN(int n_marked, impl->mark_dead_runs_in_txn());
  LW_TRY(txn.commit(changed || n_marked > 0));
  return std::unique_ptr<ExperimentStore>(new ExperimentStore(std::move(impl)));
}

Result<std::unique_ptr<ExperimentStore>> ExperimentStore::open_read_only(
    const std::string& project_dir) {
  std::string path = db_path(project_dir);
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found(path + ": no experiment database in this project");
  auto impl = std::make_unique<Impl>();
  impl->project_dir = project_dir;
  impl->read_only = true;
  LW_TRY(impl->db.open(path, SQLITE_OPEN_READONLY, impl->options.busy_timeout_ms));
  LW_ASSIGN_OR_RETURN(int version, probe(impl->db));
  if (version < store::kSchemaVersion)
    return unsupported(path + ": schema version " + std::to_string(version) +
                       " is older than this build's (" + std::to_string(store::kSchemaVersion) +
                       "); open it once with write access to migrate it");
  return std::unique_ptr<ExperimentStore>(new ExperimentStore(std::move(impl)));
}

Result<int> ExperimentStore::peek_schema_version(const std::string& project_dir) {
  std::string path = db_path(project_dir);
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found(path + ": no experiment database in this project");
  store::Db db;
  LW_TRY(db.open(path, SQLITE_OPEN_READONLY, StoreOpenOptions{}.busy_timeout_ms));
  LW_ASSIGN_OR_RETURN(int64_t n_objects, db.query_int("SELECT count(*) FROM sqlite_master"));
  (void)n_objects;
  LW_ASSIGN_OR_RETURN(int64_t version, db.query_int("PRAGMA user_version"));
  return int(version);
}

Status ExperimentStore::Impl::require_writable() const {
  if (read_only) return invalid_argument(db.path() + ": the store was opened read-only");
  return Status::ok();
}

Status ExperimentStore::Impl::require_run(int64_t run_id) {
  Stmt s(db, "SELECT 1 FROM runs WHERE id = ?");
  s.bind(1, run_id);
  LW_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found(db.path() + ": no run with id " + std::to_string(run_id));
  return Status::ok();
}

Result<int64_t> ExperimentStore::create_run(const RunSpec& spec) {
  LW_TRY(impl_->require_writable());
  LW_CHECK(!spec.kind.empty(), "create_run: the run kind is empty");
  std::string params = spec.parameters_json.empty() ? "{}" : spec.parameters_json;
  auto parsed = nlohmann::json::parse(params, nullptr, /*allow_exceptions=*/false);
  LW_CHECK(parsed.is_object(), "create_run: parameters_json is not a JSON object: " +
                                   params.substr(0, 80));
  const store::WriterIdentity& me = store::this_writer();
  double now = store::now_seconds();
  WriteTxn txn(impl_->db);
  LW_TRY(txn.begin());
  Stmt s(impl_->db,
         "INSERT INTO runs (kind, name, model, dataset, parameters, status, created, started, "
         "heartbeat, writer_pid, writer_start_time, writer_host, writer_boot_id) "
         "VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, spec.kind).bind(2, spec.name).bind(3, spec.model).bind(4, spec.dataset);
  s.bind(5, params).bind(6, now).bind(7, now).bind(8, now);
  s.bind(9, me.pid).bind(10, me.start_time).bind(11, me.host).bind(12, me.boot_id);
  LW_TRY(s.run());
  int64_t id = sqlite3_last_insert_rowid(impl_->db.handle());
  LW_TRY(txn.commit());
  return id;
}

Status ExperimentStore::log_metrics(int64_t run_id, const std::vector<MetricPoint>& batch) {
  LW_TRY(impl_->require_writable());
  for (const MetricPoint& p : batch)
    LW_CHECK(!p.name.empty(), "log_metrics: a metric point at step " + std::to_string(p.step) +
                                  " has an empty name");
  double now = store::now_seconds();
  WriteTxn txn(impl_->db);
  LW_TRY(txn.begin());
  LW_TRY(impl_->require_run(run_id));
  Stmt ins(impl_->db,
           "INSERT INTO metric_points (run_id, step, name, value, wall_time) VALUES (?, ?, ?, ?, ?)");
  for (const MetricPoint& p : batch) {
    ins.bind(1, run_id).bind(2, p.step).bind(3, p.name).bind(5, p.wall_time > 0 ? p.wall_time : now);
    if (!std::isnan(p.value)) ins.bind(4, p.value);  // unbound = NULL = NaN
    LW_TRY(ins.run());
  }
  Stmt hb(impl_->db, "UPDATE runs SET heartbeat = ? WHERE id = ?");
  hb.bind(1, now).bind(2, run_id);
  LW_TRY(hb.run());
  return txn.commit();
}

Status ExperimentStore::heartbeat(int64_t run_id) {
  LW_TRY(impl_->require_writable());
  Stmt s(impl_->db, "UPDATE runs SET heartbeat = ? WHERE id = ?");
  s.bind(1, store::now_seconds()).bind(2, run_id);
  LW_TRY(s.run());
  if (sqlite3_changes(impl_->db.handle()) != 1)
    return not_found(path() + ": no run with id " + std::to_string(run_id));
  return Status::ok();
}

Status ExperimentStore::finish_run(int64_t run_id, RunStatus status,
                                   const std::string& error_message) {
  LW_TRY(impl_->require_writable());
  LW_CHECK(status != RunStatus::kCreated && status != RunStatus::kRunning,
           std::string("finish_run: '") + run_status_name(status) + "' is not a final status");
  WriteTxn txn(impl_->db);
  LW_TRY(txn.begin());
  LW_TRY(impl_->require_run(run_id));
  double now = store::now_seconds();
  Stmt s(impl_->db,
         "UPDATE runs SET status = ?, error_message = ?, ended = ?, heartbeat = ? WHERE id = ?");
  s.bind(1, std::string(run_status_name(status))).bind(2, error_message).bind(3, now);
  s.bind(4, now).bind(5, run_id);
  LW_TRY(s.run());
  return txn.commit();
}

Status ExperimentStore::set_notes(int64_t run_id, const std::string& notes) {
  LW_TRY(impl_->require_writable());
  WriteTxn txn(impl_->db);
  LW_TRY(txn.begin());
  LW_TRY(impl_->require_run(run_id));
  Stmt s(impl_->db, "INSERT OR REPLACE INTO run_notes (run_id, notes) VALUES (?, ?)");
  s.bind(1, run_id).bind(2, notes);
  LW_TRY(s.run());
  return txn.commit();
}

Status ExperimentStore::set_tags(int64_t run_id, const std::vector<std::string>& tags) {
  LW_TRY(impl_->require_writable());
  for (const auto& t : tags) LW_CHECK(!t.empty(), "set_tags: a tag is empty");
  WriteTxn txn(impl_->db);
  LW_TRY(txn.begin());
  LW_TRY(impl_->require_run(run_id));
  Stmt del(impl_->db, "DELETE FROM run_tags WHERE run_id = ?");
  del.bind(1, run_id);
  LW_TRY(del.run());
  Stmt ins(impl_->db, "INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?, ?)");
  for (const auto& t : tags) {
    ins.bind(1, run_id).bind(2, t);
    LW_TRY(ins.run());
  }
  return txn.commit();
}

Status ExperimentStore::record_system_info(int64_t run_id, const SystemInfo& info) {
  LW_TRY(impl_->require_writable());
  WriteTxn txn(impl_->db);
  LW_TRY(txn.begin());
  LW_TRY(impl_->require_run(run_id));
  Stmt s(impl_->db,
         "INSERT OR REPLACE INTO system_info (run_id, host, cpu, gpu, driver, build) "
         "VALUES (?, ?, ?, ?, ?, ?)");
  s.bind(1, run_id).bind(2, info.host).bind(3, info.cpu).bind(4, info.gpu);
  s.bind(5, info.driver).bind(6, info.build);
  LW_TRY(s.run());
  return txn.commit();
}

}  // namespace lw
