// ExperimentStore, reader side: listing and filtering runs, metric series,
// artifacts, system info, the change counter, and liveness of writers (a
// `running` run whose writer is gone reads as interrupted, stored or not).
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/store/store_impl.h"

namespace lw {
using store::Stmt;

const char* run_status_name(RunStatus s) {
  switch (s) {
    case RunStatus::kCreated: return "created";
    case RunStatus::kRunning: return "running";
    case RunStatus::kOk: return "ok";
    case RunStatus::kFailed: return "failed";
    case RunStatus::kCancelled: return "cancelled";
    case RunStatus::kInterrupted: return "interrupted";
  }
  return "unknown";
}

Result<RunStatus> parse_run_status(const std::string& s) {
  for (RunStatus r : {RunStatus::kCreated, RunStatus::kRunning, RunStatus::kOk, RunStatus::kFailed,
                      RunStatus::kCancelled, RunStatus::kInterrupted})
    if (s == run_status_name(r)) return r;
  return invalid_argument("unknown run status '" + s +
                          "' (expected created, running, ok, failed, cancelled or interrupted)");
}

namespace {

constexpr const char* kRunColumns =
    "id, kind, name, model, dataset, parameters, status, created, started, ended, heartbeat, "
    "error_message, writer_pid, writer_start_time, writer_host, writer_boot_id";

}  // namespace

RunStatus ExperimentStore::Impl::effective_status(RunStatus stored,
                                                  const store::WriterIdentity& writer,
                                                  double heartbeat, double now,
                                                  std::string* reason) const {
  if (stored != RunStatus::kRunning && stored != RunStatus::kCreated) return stored;
  switch (store::writer_liveness(writer)) {
    case store::Liveness::kAlive:
      return stored;
    case store::Liveness::kDead:
      *reason = "the writer process (pid " + std::to_string(writer.pid) + " on " + writer.host +
                ") is gone";
      return RunStatus::kInterrupted;
    case store::Liveness::kUnknown:
      if (now - heartbeat > options.stale_heartbeat_s) {
        *reason = "no heartbeat for " + std::to_string(int64_t(now - heartbeat)) +
                  " s (writer on " + (writer.host.empty() ? "an unknown host" : writer.host) + ")";
        return RunStatus::kInterrupted;
      }
      return stored;
  }
  return stored;
}

namespace {

// Reads one row selected with kRunColumns; notes, tags and final metrics come after.
Result<RunRecord> read_run_row(ExperimentStore::Impl& impl, Stmt& s, double now) {
  RunRecord r;
  r.id = s.col_int(0);
  r.kind = s.col_text(1);
  r.name = s.col_text(2);
  r.model = s.col_text(3);
  r.dataset = s.col_text(4);
  r.parameters_json = s.col_text(5);
  auto status = parse_run_status(s.col_text(6));
  if (!status.is_ok())
    return data_loss(impl.db.path() + ": run " + std::to_string(r.id) + ": " +
                     status.status().message());
  r.created = s.col_double(7);
  r.started = s.col_double(8);
  r.ended = s.col_double(9);
  r.heartbeat = s.col_double(10);
  r.error_message = s.col_text(11);
  store::WriterIdentity w{s.col_int(12), s.col_int(13), s.col_text(14), s.col_text(15)};
  std::string reason;
  r.status = impl.effective_status(*status, w, r.heartbeat, now, &reason);
  if (r.status != *status && r.error_message.empty()) r.error_message = reason;
  return r;
}

Status fill_run_details(ExperimentStore::Impl& impl, RunRecord& r) {
  Stmt notes(impl.db, "SELECT notes FROM run_notes WHERE run_id = ?");
  notes.bind(1, r.id);
  LW_ASSIGN_OR_RETURN(bool has_notes, notes.step());
  if (has_notes) r.notes = notes.col_text(0);
  Stmt tags(impl.db, "SELECT tag FROM run_tags WHERE run_id = ? ORDER BY tag");
  tags.bind(1, r.id);
  for (;;) {
    LW_ASSIGN_OR_RETURN(bool row, tags.step());
    if (!row) break;
    r.tags.push_back(tags.col_text(0));
  }
  // The value at the highest step of each metric (SQLite takes the bare column from the max row).
  Stmt last(impl.db,
            "SELECT name, value, max(step) FROM metric_points WHERE run_id = ? "
            "GROUP BY name ORDER BY name");
  last.bind(1, r.id);
  for (;;) {
    LW_ASSIGN_OR_RETURN(bool row, last.step());
    if (!row) break;
    r.final_metrics.emplace_back(last.col_text(0), last.col_double_or_nan(1));
  }
  return Status::ok();
}

}  // namespace

Result<int> ExperimentStore::Impl::mark_dead_runs_in_txn() {
  double now = store::now_seconds();
  Stmt s(db, (std::string("SELECT ") + kRunColumns +
              " FROM runs WHERE status IN ('running', 'created')").c_str());
  std::vector<std::pair<int64_t, std::string>> dead;
  for (;;) {
    LW_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    LW_ASSIGN_OR_RETURN(RunRecord r, read_run_row(*this, s, now));
    if (r.status == RunStatus::kInterrupted) dead.emplace_back(r.id, r.error_message);
  }
  // The run ended at its last sign of life, not when we noticed.
  Stmt upd(db,
           "UPDATE runs SET status = 'interrupted', error_message = ?, "
           "ended = max(heartbeat, started) WHERE id = ?");
  for (const auto& [id, reason] : dead) {
    upd.bind(1, reason).bind(2, id);
    LW_TRY(upd.run());
  }
  return int(dead.size());
}

Status ExperimentStore::mark_dead_runs_interrupted() {
  if (impl_->read_only) return Status::ok();  // readers compute it; see the header
  store::WriteTxn txn(impl_->db);
  LW_TRY(txn.begin());
  LW_ASSIGN_OR_RETURN(int n, impl_->mark_dead_runs_in_txn());
  return txn.commit(n > 0);
}

Result<std::vector<RunRecord>> ExperimentStore::list_runs(const RunFilter& filter) {
  LW_CHECK(filter.limit >= 0, "list_runs: negative limit");
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE (?1 = '' OR kind = ?1)";
  if (!filter.text.empty())
    sql += " AND (instr(lower(name), lower(?2)) OR instr(lower(model), lower(?2)) OR "
           "instr(lower(dataset), lower(?2)) OR EXISTS (SELECT 1 FROM run_tags t WHERE "
           "t.run_id = runs.id AND instr(lower(t.tag), lower(?2))))";
  sql += " ORDER BY id DESC";
  Stmt s(impl_->db, sql.c_str());
  s.bind(1, filter.kind);
  if (!filter.text.empty()) s.bind(2, filter.text);
  double now = store::now_seconds();
  std::vector<RunRecord> out;
  for (;;) {
    if (filter.limit > 0 && int(out.size()) >= filter.limit) break;
    LW_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    LW_ASSIGN_OR_RETURN(RunRecord r, read_run_row(*impl_, s, now));
    // The status filter applies to the effective status, so it runs here, not in SQL.
    if (filter.status && r.status != *filter.status) continue;
    out.push_back(std::move(r));
  }
  for (RunRecord& r : out) LW_TRY(fill_run_details(*impl_, r));
  return out;
}

Result<RunRecord> ExperimentStore::get_run(int64_t run_id) {
  Stmt s(impl_->db, (std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?").c_str());
  s.bind(1, run_id);
  LW_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found(path() + ": no run with id " + std::to_string(run_id));
  LW_ASSIGN_OR_RETURN(RunRecord r, read_run_row(*impl_, s, store::now_seconds()));
  LW_TRY(fill_run_details(*impl_, r));
  return r;
}

Result<std::vector<std::string>> ExperimentStore::metric_names(int64_t run_id) {
  LW_TRY(impl_->require_run(run_id));
  Stmt s(impl_->db, "SELECT DISTINCT name FROM metric_points WHERE run_id = ? ORDER BY name");
  s.bind(1, run_id);
  std::vector<std::string> out;
  for (;;) {
    LW_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(s.col_text(0));
  }
  return out;
}

Result<MetricSeries> ExperimentStore::read_metric(int64_t run_id, const std::string& name) {
  LW_TRY(impl_->require_run(run_id));
  Stmt s(impl_->db,
         "SELECT step, value, wall_time FROM metric_points WHERE run_id = ? AND name = ? "
         "ORDER BY step, rowid");
  s.bind(1, run_id).bind(2, name);
  MetricSeries m;
  m.name = name;
  for (;;) {
    LW_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    m.steps.push_back(s.col_int(0));
    m.values.push_back(s.col_double_or_nan(1));
    m.wall_times.push_back(s.col_double(2));
  }
  return m;
}

Result<std::vector<Artifact>> ExperimentStore::artifacts(int64_t run_id) {
  LW_TRY(impl_->require_run(run_id));
  Stmt s(impl_->db,
         "SELECT id, run_id, kind, path, sha256, bytes FROM artifacts WHERE run_id = ? ORDER BY id");
  s.bind(1, run_id);
  std::vector<Artifact> out;
  for (;;) {
    LW_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back({s.col_int(0), s.col_int(1), s.col_text(2), s.col_text(3), s.col_text(4),
                   s.col_int(5)});
  }
  return out;
}

Result<SystemInfo> ExperimentStore::system_info(int64_t run_id) {
  LW_TRY(impl_->require_run(run_id));
  Stmt s(impl_->db, "SELECT host, cpu, gpu, driver, build FROM system_info WHERE run_id = ?");
  s.bind(1, run_id);
  SystemInfo info;
  LW_ASSIGN_OR_RETURN(bool row, s.step());
  if (row) info = {s.col_text(0), s.col_text(1), s.col_text(2), s.col_text(3), s.col_text(4)};
  return info;
}

Result<int64_t> ExperimentStore::change_counter() {
  return impl_->db.query_int("SELECT changes FROM store_state WHERE id = 1");
}

}  // namespace lw
