// Schema history (each step is one migration; never edit a shipped step):
//   v1  runs, metrics(run_id, step, name, value), artifacts(no size)
//   v2  metric_points with wall time and NULL = NaN values, artifact bytes,
//       run notes and tags, system info
//   v3  writer identity on runs (pid, process start time, host, boot id) for
//       interrupted detection; store_state change counter; (run, name, step) index
#include "engine/store/schema.h"

#include <string>

namespace lw::store {
namespace {

// The current schema as a fresh database gets it. Column order matches what
// the migrations produce, so both paths give the same tables (tested).
constexpr const char* kCreateV3 = R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  dataset TEXT NOT NULL DEFAULT '',
  parameters TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL,
  created REAL NOT NULL,
  started REAL NOT NULL DEFAULT 0,
  ended REAL NOT NULL DEFAULT 0,
  heartbeat REAL NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  writer_pid INTEGER NOT NULL DEFAULT 0,
  writer_start_time INTEGER NOT NULL DEFAULT 0,
  writer_host TEXT NOT NULL DEFAULT '',
  writer_boot_id TEXT NOT NULL DEFAULT '');
CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL DEFAULT '',
  bytes INTEGER NOT NULL DEFAULT 0);
CREATE INDEX artifacts_run ON artifacts(run_id);
CREATE TABLE metric_points (
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL,
  wall_time REAL NOT NULL DEFAULT 0);
CREATE TABLE run_notes (run_id INTEGER PRIMARY KEY, notes TEXT NOT NULL DEFAULT '');
CREATE TABLE run_tags (run_id INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (run_id, tag));
CREATE TABLE system_info (
  run_id INTEGER PRIMARY KEY,
  host TEXT NOT NULL DEFAULT '',
  cpu TEXT NOT NULL DEFAULT '',
  gpu TEXT NOT NULL DEFAULT '',
  driver TEXT NOT NULL DEFAULT '',
  build TEXT NOT NULL DEFAULT '');
CREATE INDEX metric_points_run_name_step ON metric_points(run_id, name, step);
CREATE TABLE store_state (id INTEGER PRIMARY KEY CHECK (id = 1), changes INTEGER NOT NULL);
INSERT INTO store_state VALUES (1, 0);
)sql";

// v1 -> v2: metric_points is rebuilt (the v1 table had NOT NULL values, so a
// NaN loss could not be stored); wall time of old points is unknown (0).
constexpr const char* kMigrate1To2 = R"sql(
CREATE TABLE metric_points (
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL,
  wall_time REAL NOT NULL DEFAULT 0);
INSERT INTO metric_points (run_id, step, name, value, wall_time)
  SELECT run_id, step, name, value, 0 FROM metrics ORDER BY rowid;
DROP TABLE metrics;
CREATE INDEX metric_points_run_name ON metric_points(run_id, name);
ALTER TABLE artifacts ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX artifacts_run ON artifacts(run_id);
CREATE TABLE run_notes (run_id INTEGER PRIMARY KEY, notes TEXT NOT NULL DEFAULT '');
CREATE TABLE run_tags (run_id INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (run_id, tag));
CREATE TABLE system_info (
  run_id INTEGER PRIMARY KEY,
  host TEXT NOT NULL DEFAULT '',
  cpu TEXT NOT NULL DEFAULT '',
  gpu TEXT NOT NULL DEFAULT '',
  driver TEXT NOT NULL DEFAULT '',
  build TEXT NOT NULL DEFAULT '');
PRAGMA user_version = 2;
)sql";

// v2 -> v3: runs written before v3 carry no writer identity (pid 0), so they
// are judged by their heartbeat alone.
constexpr const char* kMigrate2To3 = R"sql(
ALTER TABLE runs ADD COLUMN writer_pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN writer_start_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN writer_host TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN writer_boot_id TEXT NOT NULL DEFAULT '';
DROP INDEX metric_points_run_name;
CREATE INDEX metric_points_run_name_step ON metric_points(run_id, name, step);
CREATE TABLE store_state (id INTEGER PRIMARY KEY CHECK (id = 1), changes INTEGER NOT NULL);
INSERT INTO store_state VALUES (1, 0);
PRAGMA user_version = 3;
)sql";

}  // namespace

Status create_schema(Db& db) {
  LW_TRY(db.exec(kCreateV3));
  return db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
}

Status migrate_schema(Db& db, int from_version) {
  static const char* const kSteps[] = {nullptr, kMigrate1To2, kMigrate2To3};
  static_assert(sizeof(kSteps) / sizeof(kSteps[0]) == kSchemaVersion);
  if (from_version < 1 || from_version >= kSchemaVersion)
    return internal_error(db.path() + ": no migration from schema version " +
                          std::to_string(from_version));
  for (int v = from_version; v < kSchemaVersion; ++v)
    LW_TRY(db.exec(kSteps[v]).with_context("migrating from schema version " + std::to_string(v)));
  return Status::ok();
}

}  // namespace lw::store
