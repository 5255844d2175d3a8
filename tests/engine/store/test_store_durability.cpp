// Durability and interrupted runs, for real: a child process logs metric
// batches and is killed with SIGKILL; reopening finds an intact database
// (integrity_check ok), every batch the child reported committed, and the run
// marked interrupted at once (dead pid), without waiting for a heartbeat.
// Also: recycled pids, other hosts (stale vs fresh heartbeat), a reboot, and a
// change counter that moves when another process writes.
#include <signal.h>
#include <unistd.h>

#include <QProcess>
#include <QtTest>

#include "engine/api/experiment_store.h"
#include "tests/engine/store/store_test_util.h"

using lw::ExperimentStore;
using lw::RunStatus;

namespace {

// Reads the child's complete lines until `want` batches are reported; returns the
// reported batch numbers (a partial last line is not a report).
struct ChildLog {
  int64_t run_id = -1;
  std::vector<long> batches;
  QByteArray pending;
  void feed(const QByteArray& data) {
    pending += data;
    int nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      QByteArray line = pending.left(nl);
      pending.remove(0, nl + 1);
      if (line.startsWith("run ")) run_id = line.mid(4).toLongLong();
      if (line.startsWith("batch ")) batches.push_back(line.mid(6).toLong());
    }
  }
};

}  // namespace

class TestStoreDurability : public QObject {
  Q_OBJECT

  void kill_child_and_check(const QString& dir, int points, int kill_after) {
    QProcess child;
    child.start(LW_STORE_WRITER_CHILD, {dir, QString::number(points)});
    QVERIFY2(child.waitForStarted(10000), "store_writer_child did not start");
    ChildLog log;
    QElapsedTimer timer;
    timer.start();
    while (int(log.batches.size()) < kill_after && timer.elapsed() < 60000) {
      child.waitForReadyRead(1000);
      log.feed(child.readAllStandardOutput());
      QVERIFY2(child.state() == QProcess::Running, child.readAllStandardError().constData());
    }
    QVERIFY(int(log.batches.size()) >= kill_after);
    ::kill(pid_t(child.processId()), SIGKILL);
    QVERIFY(child.waitForFinished(10000));
    QCOMPARE(child.exitStatus(), QProcess::CrashExit);
    log.feed(child.readAllStandardOutput());  // reports that arrived before the kill

    std::string db = dir.toStdString() + "/experiments.sqlite";
    {
      storetest::RawDb raw(db);
      QCOMPARE(raw.text("PRAGMA integrity_check"), std::string("ok"));
    }
    auto s = ExperimentStore::open(dir.toStdString());
    LW_VERIFY_OK(s);
    auto run = (*s)->get_run(log.run_id);
    LW_VERIFY_OK(run);
    QCOMPARE(run->status, RunStatus::kInterrupted);
    QVERIFY2(run->error_message.find("gone") != std::string::npos, run->error_message.c_str());
    QCOMPARE(run->ended, run->heartbeat);  // ended at its last sign of life
    // Every reported batch is complete: all `points` metrics at that step.
    for (int k = 0; k < points; k += std::max(1, points / 4)) {
      auto m = (*s)->read_metric(log.run_id, "m" + std::to_string(k));
      LW_VERIFY_OK(m);
      QVERIFY(m->steps.size() >= log.batches.size());
      for (size_t i = 0; i < log.batches.size(); ++i) {
        QCOMPARE(m->steps[i], int64_t(log.batches[i]));
        QCOMPARE(m->values[i], double(log.batches[i]) + k / 1000.0);
      }
    }
    // Batches are atomic: each metric has the same number of points.
    storetest::RawDb raw(db);
    QCOMPARE(raw.integer("SELECT count(DISTINCT c) FROM (SELECT count(*) AS c FROM metric_points "
                         "WHERE run_id = " + std::to_string(log.run_id) + " GROUP BY name)"),
             1LL);
  }

  // Rewrites a run's writer identity as if another process/machine wrote it.
  static void set_writer(const std::string& db, int64_t id, const std::string& assignments) {
    storetest::RawDb raw(db);
    QCOMPARE(raw.exec("UPDATE runs SET " + assignments + " WHERE id = " + std::to_string(id)),
             SQLITE_OK);
  }

 private slots:
  void sigkill_during_logging() {
    QTemporaryDir dir;
    // Several children in a row on the same database: small and large batches,
    // killed at different points.
    kill_child_and_check(dir.path(), 4, 20);
    kill_child_and_check(dir.path(), 200, 15);
    kill_child_and_check(dir.path(), 1000, 5);
    auto s = ExperimentStore::open(dir.path().toStdString());
    LW_VERIFY_OK(s);
    lw::RunFilter f;
    f.status = RunStatus::kInterrupted;
    QCOMPARE((*s)->list_runs(f)->size(), size_t(3));
  }

  void exited_child_without_finish_is_interrupted() {
    QTemporaryDir dir;
    QProcess child;
    child.start(LW_STORE_WRITER_CHILD, {dir.path(), "3", "5"});
    QVERIFY(child.waitForFinished(30000));
    QCOMPARE(child.exitCode(), 0);
    // The child exited without finish_run: its run is interrupted too, while a
    // run finished by its writer keeps its status.
    auto s = ExperimentStore::open(dir.path().toStdString());
    LW_VERIFY_OK(s);
    QCOMPARE((*s)->get_run(1)->status, RunStatus::kInterrupted);
    QCOMPARE((*s)->read_metric(1, "m2")->steps.size(), size_t(5));
    auto mine = (*s)->create_run({"classify", "mine", "m", "d", "{}"});
    LW_VERIFY_OK((*s)->finish_run(*mine, RunStatus::kOk));
    auto again = ExperimentStore::open(dir.path().toStdString());
    QCOMPARE((*again)->get_run(*mine)->status, RunStatus::kOk);
  }

  void liveness_rules() {
    QTemporaryDir dir;
    std::string db = dir.filePath("experiments.sqlite").toStdString();
    auto s = ExperimentStore::open(dir.path().toStdString());
    LW_VERIFY_OK(s);
    auto make = [&](const char* name) { return *(*s)->create_run({"bench", name, "m", "d", "{}"}); };
    int64_t alive = make("alive");           // this process: stays running
    int64_t recycled = make("recycled");     // our pid, another start time
    int64_t far_stale = make("far-stale");   // another host, old heartbeat
    int64_t far_fresh = make("far-fresh");   // another host, fresh heartbeat
    int64_t rebooted = make("rebooted");     // this host, another boot
    int64_t stale_alive = make("old-hb");    // this process, old heartbeat: pid wins
    set_writer(db, recycled, "writer_start_time = writer_start_time + 1");
    set_writer(db, far_stale, "writer_host = 'elsewhere', heartbeat = heartbeat - 3600");
    set_writer(db, far_fresh, "writer_host = 'elsewhere'");
    set_writer(db, rebooted, "writer_boot_id = 'another-boot'");
    set_writer(db, stale_alive, "heartbeat = heartbeat - 3600");

    // Readers see it at once, before anything is stored.
    auto ro = ExperimentStore::open_read_only(dir.path().toStdString());
    LW_VERIFY_OK(ro);
    QCOMPARE((*ro)->get_run(recycled)->status, RunStatus::kInterrupted);
    storetest::RawDb raw(db);
    QCOMPARE(raw.text("SELECT status FROM runs WHERE id = " + std::to_string(recycled)),
             std::string("running"));

    LW_VERIFY_OK((*s)->mark_dead_runs_interrupted());
    auto status_of = [&](int64_t id) {
      return raw.text("SELECT status FROM runs WHERE id = " + std::to_string(id));
    };
    QCOMPARE(status_of(alive), std::string("running"));
    QCOMPARE(status_of(recycled), std::string("interrupted"));
    QCOMPARE(status_of(far_stale), std::string("interrupted"));
    QCOMPARE(status_of(far_fresh), std::string("running"));
    QCOMPARE(status_of(rebooted), std::string("interrupted"));
    QCOMPARE(status_of(stale_alive), std::string("running"));
    QVERIFY((*s)->get_run(far_stale)->error_message.find("heartbeat") != std::string::npos);
    // A shorter stale limit catches the fresh remote run too.
    lw::StoreOpenOptions o;
    o.stale_heartbeat_s = -1;
    auto strict = ExperimentStore::open_with(dir.path().toStdString(), o);
    LW_VERIFY_OK(strict);
    QCOMPARE(status_of(far_fresh), std::string("interrupted"));
    QCOMPARE(status_of(alive), std::string("running"));
  }

  void change_counter_sees_other_process() {
    QTemporaryDir dir;
    { LW_VERIFY_OK(ExperimentStore::open(dir.path().toStdString())); }
    auto ro = ExperimentStore::open_read_only(dir.path().toStdString());
    LW_VERIFY_OK(ro);
    auto before = (*ro)->change_counter();
    LW_VERIFY_OK(before);
    QProcess child;
    child.start(LW_STORE_WRITER_CHILD, {dir.path(), "2", "3"});
    QVERIFY(child.waitForFinished(30000));
    QCOMPARE(child.exitCode(), 0);
    auto after = (*ro)->change_counter();
    LW_VERIFY_OK(after);
    QVERIFY(*after >= *before + 4);  // create_run + 3 batches
    QCOMPARE((*ro)->list_runs()->size(), size_t(1));
  }
};

QTEST_GUILESS_MAIN(TestStoreDurability)
#include "test_store_durability.moc"
