// Forward migrations: databases built from the committed old-schema scripts
// (tests/data/store/schema_v1.sql, schema_v2.sql) open, migrate to the
// current version with every row kept, and end with the same tables and
// columns as a fresh database.
#include <QtTest>
#include <cmath>

#include "engine/api/experiment_store.h"
#include "tests/engine/store/store_test_util.h"

using lw::ExperimentStore;
using lw::RunStatus;

namespace {

// "table(col type notnull dflt pk; ...)" for every table and index, sorted by name.
std::string describe_schema(const std::string& path) {
  storetest::RawDb raw(path);
  std::string out;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(raw.db,
                     "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE "
                     "'sqlite_%' ORDER BY type, name",
                     -1, &s, nullptr);
  while (sqlite3_step(s) == SQLITE_ROW) {
    std::string type = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    std::string name = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    std::string table = reinterpret_cast<const char*>(sqlite3_column_text(s, 2));
    out += type + " " + name + " on " + table + "(";
    std::string pragma = (type == "index" ? "PRAGMA index_info(" : "PRAGMA table_info(") +
                         std::string("'") + name + "')";
    sqlite3_stmt* c = nullptr;
    sqlite3_prepare_v2(raw.db, pragma.c_str(), -1, &c, nullptr);
    while (sqlite3_step(c) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(c); ++i) {
        const unsigned char* t = sqlite3_column_text(c, i);
        out += std::string(t ? reinterpret_cast<const char*>(t) : "null") + " ";
      }
      out += "; ";
    }
    sqlite3_finalize(c);
    out += ")\n";
  }
  sqlite3_finalize(s);
  return out;
}

std::string make_db_from(const QTemporaryDir& dir, const std::string& fixture) {
  std::string path = dir.filePath("experiments.sqlite").toStdString();
  storetest::RawDb raw(path);
  if (raw.exec(storetest::fixture(fixture)) != SQLITE_OK) return "";
  return path;
}

}  // namespace

class TestStoreMigration : public QObject {
  Q_OBJECT
 private slots:
  void from_v1() {
    QTemporaryDir dir;
    std::string path = make_db_from(dir, "schema_v1.sql");
    QVERIFY(!path.empty());
    QCOMPARE(storetest::RawDb(path).integer("PRAGMA user_version"), 1LL);
    // A read-only view does not migrate: it says how to.
    auto ro = ExperimentStore::open_read_only(dir.path().toStdString());
    QVERIFY(!ro.is_ok());
    QVERIFY(ro.status().message().find("older") != std::string::npos);
    QCOMPARE(*ExperimentStore::peek_schema_version(dir.path().toStdString()), 1);

    auto s = ExperimentStore::open(dir.path().toStdString());
    LW_VERIFY_OK(s);
    auto& store = **s;
    QCOMPARE(storetest::RawDb(path).integer("PRAGMA user_version"),
             (long long)ExperimentStore::schema_version());
    auto runs = store.list_runs();
    LW_VERIFY_OK(runs);
    QCOMPARE(runs->size(), size_t(2));
    auto r1 = store.get_run(1);
    LW_VERIFY_OK(r1);
    QCOMPARE(r1->name, std::string("sst2 baseline"));
    QCOMPARE(r1->status, RunStatus::kOk);
    QCOMPARE(r1->parameters_json, std::string(R"({"lr":0.0001,"epochs":3})"));
    auto loss = store.read_metric(1, "train/loss");
    QCOMPARE(loss->steps, (std::vector<int64_t>{0, 100, 200}));
    QCOMPARE(loss->values, (std::vector<double>{0.69, 0.41, 0.25}));
    QCOMPARE(loss->wall_times, (std::vector<double>{0, 0, 0}));  // unknown in v1
    QCOMPARE(store.read_metric(1, "eval/accuracy")->values, std::vector<double>{0.875});
    auto arts = store.artifacts(1);
    QCOMPARE(arts->size(), size_t(1));
    QCOMPARE((*arts)[0].path, std::string("runs/1/best.safetensors"));
    QCOMPARE((*arts)[0].bytes, int64_t(0));
    // Run 2 was left running by a writer with no identity and a stale heartbeat.
    auto r2 = store.get_run(2);
    QCOMPARE(r2->status, RunStatus::kInterrupted);
    QVERIFY(r2->error_message.find("heartbeat") != std::string::npos);
    QCOMPARE(storetest::RawDb(path).text("SELECT status FROM runs WHERE id = 2"),
             std::string("interrupted"));  // stored on open, not only computed
    // The migrated store takes new runs after the old ids.
    auto id = store.create_run({"classify", "new", "m", "d", "{}"});
    LW_VERIFY_OK(id);
    QCOMPARE(*id, int64_t(3));
  }

  void from_v2() {
    QTemporaryDir dir;
    std::string path = make_db_from(dir, "schema_v2.sql");
    QVERIFY(!path.empty());
    auto s = ExperimentStore::open(dir.path().toStdString());
    LW_VERIFY_OK(s);
    auto& store = **s;
    auto r1 = store.get_run(1);
    LW_VERIFY_OK(r1);
    QCOMPARE(r1->status, RunStatus::kFailed);
    QCOMPARE(r1->error_message, std::string("loss became NaN at step 20"));
    QCOMPARE(r1->notes, std::string("lr too high"));
    QCOMPARE(r1->tags, (std::vector<std::string>{"baseline", "ner"}));
    auto loss = store.read_metric(1, "train/loss");
    QCOMPARE(loss->values.size(), size_t(3));
    QVERIFY(std::isnan(loss->values[2]));
    QCOMPARE(loss->wall_times[1], 1710000100.0);
    QCOMPARE(store.system_info(1)->gpu, std::string("NVIDIA H100"));
    QCOMPARE(store.artifacts(1)->at(0).bytes, int64_t(1234));
    QCOMPARE(store.get_run(2)->status, RunStatus::kInterrupted);
  }

  void migrated_schema_equals_fresh() {
    QTemporaryDir fresh_dir;
    {
      auto fresh = ExperimentStore::open(fresh_dir.path().toStdString());
      LW_VERIFY_OK(fresh);
    }
    std::string fresh = describe_schema(fresh_dir.filePath("experiments.sqlite").toStdString());
    QVERIFY(fresh.find("metric_points_run_name_step") != std::string::npos);
    for (const char* fixture : {"schema_v1.sql", "schema_v2.sql"}) {
      QTemporaryDir dir;
      std::string path = make_db_from(dir, fixture);
      {
        auto s = ExperimentStore::open(dir.path().toStdString());
        LW_VERIFY_OK(s);
      }
      QCOMPARE(describe_schema(path), fresh);
    }
  }

  void reopen_is_idempotent() {
    QTemporaryDir dir;
    make_db_from(dir, "schema_v1.sql");
    for (int i = 0; i < 3; ++i) {
      auto s = ExperimentStore::open(dir.path().toStdString());
      LW_VERIFY_OK(s);
      QCOMPARE((*s)->list_runs()->size(), size_t(2));
      QCOMPARE((*s)->read_metric(1, "train/loss")->steps.size(), size_t(3));
    }
    auto ro = ExperimentStore::open_read_only(dir.path().toStdString());
    LW_VERIFY_OK(ro);
    QCOMPARE((*ro)->list_runs()->size(), size_t(2));
  }
};

QTEST_GUILESS_MAIN(TestStoreMigration)
#include "test_store_migration.moc"
