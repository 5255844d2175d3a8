// Databases the store must refuse, each with an error that names the file and
// without changing a byte of it: locked by another writer (WAL and rollback
// journal), read-only file, read-only folder, corrupt file, newer schema, a
// foreign SQLite file, a missing one when creation is not allowed.
#include <sys/stat.h>

#include <QtTest>
#include <filesystem>
#include <random>

#include "engine/api/experiment_store.h"
#include "tests/engine/store/store_test_util.h"

namespace fs = std::filesystem;
using lw::ExperimentStore;
using lw::StatusCode;

namespace {

lw::StoreOpenOptions quick() {
  lw::StoreOpenOptions o;
  o.busy_timeout_ms = 200;
  return o;
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = char(rng() & 0xff);
  return s;
}

}  // namespace

class TestStoreBadDb : public QObject {
  Q_OBJECT

  std::unique_ptr<QTemporaryDir> tmp_;
  std::string dir_, db_;

  // A good store with one run and a few points, closed (WAL checkpointed away).
  void make_good_store() {
    auto s = ExperimentStore::open(dir_);
    QVERIFY2(s.is_ok(), s.status().to_string().c_str());
    auto id = (*s)->create_run({"classify", "r", "m", "d", "{}"});
    QVERIFY(id.is_ok());
    QVERIFY((*s)->log_metrics(*id, {{0, "loss", 1.0, 0}, {1, "loss", 0.5, 0}}).is_ok());
    QVERIFY((*s)->finish_run(*id, lw::RunStatus::kOk).is_ok());
  }

  // Opening must fail with `code`, name `named`, and leave the file as it was.
  void expect_refused(StatusCode code, const std::string& named, const std::string& words) {
    std::string before = storetest::read_bytes(db_);
    auto s = ExperimentStore::open_with(dir_, quick());
    QVERIFY(!s.is_ok());
    const std::string& msg = s.status().message();
    QVERIFY2(s.status().code() == code, s.status().to_string().c_str());
    QVERIFY2(msg.find(named) != std::string::npos, msg.c_str());
    QVERIFY2(msg.find(words) != std::string::npos, msg.c_str());
    QVERIFY(storetest::read_bytes(db_) == before);
  }

 private slots:
  void init() {
    tmp_ = std::make_unique<QTemporaryDir>();
    dir_ = tmp_->path().toStdString();
    db_ = dir_ + "/experiments.sqlite";
  }
  void cleanup() {
    chmod(dir_.c_str(), 0700);
    if (fs::exists(db_)) chmod(db_.c_str(), 0600);
    tmp_.reset();
  }

  void locked_by_another_writer_wal() {
    make_good_store();
    storetest::RawDb other(db_);
    QCOMPARE(other.exec("BEGIN EXCLUSIVE; INSERT INTO run_tags VALUES (1, 'held')"), SQLITE_OK);
    expect_refused(StatusCode::kIoError, db_, "locked by another writer");
    // Browsing still works while the writer holds its transaction (WAL), and
    // does not see the uncommitted row.
    auto ro = ExperimentStore::open_read_only(dir_);
    LW_VERIFY_OK(ro);
    auto run = (*ro)->get_run(1);
    LW_VERIFY_OK(run);
    QVERIFY(run->tags.empty());
    QCOMPARE(other.exec("COMMIT"), SQLITE_OK);
    auto s = ExperimentStore::open_with(dir_, quick());
    LW_VERIFY_OK(s);
    QCOMPARE((*s)->get_run(1)->tags, std::vector<std::string>{"held"});
  }

  void locked_by_another_writer_rollback_journal() {
    make_good_store();
    storetest::RawDb other(db_);
    QCOMPARE(other.text("PRAGMA journal_mode=DELETE"), std::string("delete"));
    QCOMPARE(other.exec("BEGIN EXCLUSIVE; INSERT INTO run_tags VALUES (1, 'held')"), SQLITE_OK);
    expect_refused(StatusCode::kIoError, db_, "locked by another writer");
    QCOMPARE(other.exec("ROLLBACK"), SQLITE_OK);
  }

  void read_only_file() {
    make_good_store();
    QCOMPARE(chmod(db_.c_str(), 0444), 0);
    expect_refused(StatusCode::kIoError, db_, "read-only");
    auto ro = ExperimentStore::open_read_only(dir_);
    LW_VERIFY_OK(ro);
    QCOMPARE((*ro)->list_runs()->size(), size_t(1));
  }

  void read_only_folder() {
    make_good_store();
    QCOMPARE(chmod(dir_.c_str(), 0555), 0);
    expect_refused(StatusCode::kIoError, dir_, "read-only");
    // A new store cannot be created there either, and no file appears.
    chmod(dir_.c_str(), 0700);
    fs::remove(db_);
    chmod(dir_.c_str(), 0555);
    auto s = ExperimentStore::open_with(dir_, quick());
    QVERIFY(!s.is_ok());
    QVERIFY(s.status().message().find(dir_) != std::string::npos);
    QVERIFY(!fs::exists(db_));
  }

  void corrupt_random_bytes() {
    storetest::write_bytes(db_, random_bytes(8192, 1));
    expect_refused(StatusCode::kDataLoss, db_, "corrupt");
    auto ro = ExperimentStore::open_read_only(dir_);
    QCOMPARE(ro.status().code(), StatusCode::kDataLoss);
    QCOMPARE(ExperimentStore::peek_schema_version(dir_).status().code(), StatusCode::kDataLoss);
  }

  void corrupt_after_a_valid_header() {
    storetest::write_bytes(db_, std::string("SQLite format 3", 16) + random_bytes(4080, 2));
    std::string before = storetest::read_bytes(db_);
    auto s = ExperimentStore::open_with(dir_, quick());
    QVERIFY(!s.is_ok());
    QVERIFY2(s.status().message().find(db_) != std::string::npos, s.status().message().c_str());
    QVERIFY(storetest::read_bytes(db_) == before);
  }

  void newer_schema() {
    make_good_store();
    {
      storetest::RawDb raw(db_);
      QCOMPARE(raw.exec("PRAGMA user_version = 99"), SQLITE_OK);
    }
    expect_refused(StatusCode::kUnsupported, db_, "newer");
    auto ro = ExperimentStore::open_read_only(dir_);
    QCOMPARE(ro.status().code(), StatusCode::kUnsupported);
    QCOMPARE(*ExperimentStore::peek_schema_version(dir_), 99);
  }

  void foreign_sqlite_file() {
    {
      storetest::RawDb raw(db_);
      QCOMPARE(raw.exec("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x')"),
               SQLITE_OK);
    }
    expect_refused(StatusCode::kInvalidArgument, db_, "not an experiment database");
  }

  void missing_without_create() {
    lw::StoreOpenOptions o = quick();
    o.create_if_missing = false;
    auto s = ExperimentStore::open_with(dir_, o);
    QCOMPARE(s.status().code(), StatusCode::kNotFound);
    QVERIFY(s.status().message().find(db_) != std::string::npos);
    QVERIFY(!fs::exists(db_));
    QCOMPARE(ExperimentStore::open_read_only(dir_).status().code(), StatusCode::kNotFound);
  }
};

QTEST_GUILESS_MAIN(TestStoreBadDb)
#include "test_store_bad_db.moc"
