// Thin RAII over the sqlite3 C API for the experiment store: a connection, a
// prepared statement with typed bind/column helpers, and one place that turns
// SQLite result codes into lw::Status messages naming the database file.
#pragma once
#include <cstdint>
#include <string>

#include "engine/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace lw::store {

class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // flags: SQLITE_OPEN_* bits. The file is not touched beyond what SQLite does to open it.
  Status open(const std::string& path, int flags, int busy_timeout_ms);
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  Status exec(const std::string& sql);
  Result<int64_t> query_int(const std::string& sql);
  Result<std::string> query_text(const std::string& sql);
  // Maps a SQLite result code to a Status: busy/locked, read-only, corrupt, I/O, ...
  Status error(int rc, const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Stmt {
 public:
  Stmt(Db& db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  const Status& prepare_status() const { return prep_; }
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind(int i, const std::string& v);
  // Returns true for a row, false when done, or an error Status.
  Result<bool> step();
  Status run();  // step to completion, then reset
  void reset();

  int64_t col_int(int i) const;
  double col_double(int i) const;
  std::string col_text(int i) const;
  // A REAL column where NULL stands for NaN (SQLite cannot store NaN).
  double col_double_or_nan(int i) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
  Status prep_;
};

// A write transaction (BEGIN IMMEDIATE) that rolls back unless committed.
// commit() also bumps the store's change counter so readers in other
// processes see that something changed.
class WriteTxn {
 public:
  explicit WriteTxn(Db& db) : db_(db) {}
  ~WriteTxn();
  Status begin();
  Status commit(bool bump_change_counter = true);

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace lw::store
