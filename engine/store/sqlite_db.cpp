// sqlite3 C API wrapper; see sqlite_db.h. Error messages always carry the
// database path because the user may have several projects open.
#include "engine/store/sqlite_db.h"

#include <sqlite3.h>

#include <limits>

namespace lw::store {

Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

Status Db::open(const std::string& path, int flags, int busy_timeout_ms) {
  path_ = path;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status st = error(rc, "cannot open");
    sqlite3_close_v2(db_);
    db_ = nullptr;
    return st;
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  return Status::ok();
}

Status Db::error(int rc, const std::string& what) const {
  std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  std::string head = path_ + ": " + what + ": ";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return io_error(head + "the database is locked by another writer (" + detail +
                      "); close the other program or wait for it to finish");
    case SQLITE_READONLY:
      return io_error(head + "the database is read-only (" + detail + ")");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return data_loss(path_ + ": the file is corrupt or not an experiment database (" + detail +
                       ")");
    case SQLITE_CANTOPEN:
      return io_error(head + "cannot open the file (" + detail + ")");
    case SQLITE_FULL:
      return io_error(head + "the disk is full (" + detail + ")");
    case SQLITE_IOERR:
      return io_error(head + "I/O error (" + detail + ")");
    case SQLITE_CONSTRAINT:
      return invalid_argument(head + detail);
    default:
      return internal_error(head + detail);
  }
}

Status Db::exec(const std::string& sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
  if (msg) sqlite3_free(msg);
  if (rc != SQLITE_OK) return error(rc, "executing '" + sql.substr(0, 60) + "'");
  return Status::ok();
}

Result<int64_t> Db::query_int(const std::string& sql) {
  Stmt s(*this, sql.c_str());
  LW_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found(path_ + ": no result for '" + sql + "'");
  return s.col_int(0);
}

Result<std::string> Db::query_text(const std::string& sql) {
  Stmt s(*this, sql.c_str());
  LW_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found(path_ + ": no result for '" + sql + "'");
  return s.col_text(0);
}

Stmt::Stmt(Db& db, const char* sql) : db_(db) {
  int rc = sqlite3_prepare_v2(db.handle(), sql, -1, &stmt_, nullptr);
  if (rc != SQLITE_OK) prep_ = db.error(rc, "preparing a query");
}

Stmt::~Stmt() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Stmt& Stmt::bind(int i, int64_t v) {
  if (stmt_) sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  if (stmt_) sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, const std::string& v) {
  if (stmt_) sqlite3_bind_text(stmt_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Result<bool> Stmt::step() {
  if (!prep_.is_ok()) return prep_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status st = db_.error(rc, "query failed");
  sqlite3_reset(stmt_);
  return st;
}

Status Stmt::run() {
  Result<bool> r = step();
  while (r.is_ok() && *r) r = step();
  reset();
  return r.is_ok() ? Status::ok() : r.status();
}

void Stmt::reset() {
  if (!stmt_) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Stmt::col_int(int i) const { return sqlite3_column_int64(stmt_, i); }
double Stmt::col_double(int i) const { return sqlite3_column_double(stmt_, i); }
double Stmt::col_double_or_nan(int i) const {
  if (sqlite3_column_type(stmt_, i) == SQLITE_NULL) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(stmt_, i);
}
std::string Stmt::col_text(int i) const {
  const unsigned char* t = sqlite3_column_text(stmt_, i);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt_, i)) : "";
}

WriteTxn::~WriteTxn() {
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Status WriteTxn::begin() {
  LW_TRY(db_.exec("BEGIN IMMEDIATE"));
  open_ = true;
  return Status::ok();
}

Status WriteTxn::commit(bool bump_change_counter) {
  if (bump_change_counter) LW_TRY(db_.exec("UPDATE store_state SET changes = changes + 1"));
  LW_TRY(db_.exec("COMMIT"));
  open_ = false;
  return Status::ok();
}

}  // namespace lw::store
