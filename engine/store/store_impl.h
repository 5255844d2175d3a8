// ExperimentStore::Impl, shared by the store's .cpp files (open and writer
// side, reader side, delete and export). Internal to engine/store.
#pragma once
#include <string>

#include "engine/api/experiment_store.h"
#include "engine/store/sqlite_db.h"
#include "engine/store/writer_identity.h"

namespace lw {

struct ExperimentStore::Impl {
  store::Db db;
  std::string project_dir;
  bool read_only = false;
  StoreOpenOptions options;

  Status require_writable() const;
  Status require_run(int64_t run_id);
  // The status a run really has: a `running` run whose writer is gone reads as
  // interrupted. Fills *reason with why.
  RunStatus effective_status(RunStatus stored, const store::WriterIdentity& writer,
                             double heartbeat, double now, std::string* reason) const;
  // Marks dead runs interrupted inside the caller's write transaction; returns how many.
  Result<int> mark_dead_runs_in_txn();
};

namespace store {
double now_seconds();
}  // namespace store

}  // namespace lw
