// Helpers shared by the experiment store tests: a raw sqlite3 connection that
// plays "another program", file bytes for nothing-was-overwritten checks.
#pragma once
#include <sqlite3.h>

#include <QtTest>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/core/status.h"

namespace storetest {

inline std::string status_text(const lw::Status& s) { return s.to_string(); }
template <class T>
std::string status_text(const lw::Result<T>& r) {
  return r.status().to_string();
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

inline std::string fixture(const std::string& name) {
  return read_bytes(std::string(LW_SOURCE_DIR) + "/tests/data/store/" + name);
}

// A raw connection, closed on destruction.
struct RawDb {
  sqlite3* db = nullptr;
  explicit RawDb(const std::string& path, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
      qWarning("cannot open %s: %s", path.c_str(), sqlite3_errmsg(db));
    }
  }
  ~RawDb() { sqlite3_close(db); }
  // Returns SQLite's result code; the message goes to the test log on failure.
  int exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    if (err) {
      qWarning("sqlite: %s", err);
      sqlite3_free(err);
    }
    return rc;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    std::string out = "<error>";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(s, 0);
      out = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(s);
    return out;
  }
  long long integer(const std::string& sql) { return std::stoll(text(sql)); }
};

}  // namespace storetest

// Verifies a Status or Result is ok and prints its message when it is not.
#define LW_VERIFY_OK(expr)                                               \
  do {                                                                   \
    const auto& _st = (expr);                                            \
    QVERIFY2(_st.is_ok(), storetest::status_text(_st).c_str());          \
  } while (0)
