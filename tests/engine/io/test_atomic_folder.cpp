// io::write_folder_atomic: a folder appears whole or not at all. A failing fill leaves the old
// folder as it was and no temporary folder behind; a successful one replaces the old folder.
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "engine/io/atomic_folder.h"
#include "engine/io/safetensors.h"

namespace fs = std::filesystem;

class TestAtomicFolder : public QObject {
  Q_OBJECT
  static std::string read(const std::string& path) {
    std::ifstream f(path);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  }

 private slots:
  void replacesWholeOrNothing() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString() + "/model";
    auto write = [](const std::string& text) {
      return [text](const std::string& d) -> lw::Status {
        LW_TRY(lw::io::write_file_atomic(d + "/config.json", text));
        return lw::io::write_file_atomic(d + "/model.safetensors", text);
      };
    };
    QVERIFY(lw::io::write_folder_atomic(dir, write("one")).is_ok());
    QCOMPARE(read(dir + "/config.json"), std::string("one"));
    // The fill fails after its first file: the old folder stays whole, nothing is left over.
    auto st = lw::io::write_folder_atomic(dir, [](const std::string& d) -> lw::Status {
      LW_TRY(lw::io::write_file_atomic(d + "/config.json", "two"));
      return lw::io_error(d + "/model.safetensors: disk full");
    });
    QVERIFY(!st.is_ok());
    QVERIFY(st.message().find("disk full") != std::string::npos);
    QCOMPARE(read(dir + "/config.json"), std::string("one"));
    QCOMPARE(read(dir + "/model.safetensors"), std::string("one"));
    QVERIFY(!fs::exists(dir + ".tmp"));
    // A successful fill replaces every file; no stale file of the old folder survives.
    { std::ofstream(dir + "/stale.txt") << "x"; }
    QVERIFY(lw::io::write_folder_atomic(dir, write("three")).is_ok());
    QCOMPARE(read(dir + "/config.json"), std::string("three"));
    QVERIFY(!fs::exists(dir + "/stale.txt"));
    QVERIFY(!fs::exists(dir + ".tmp") && !fs::exists(dir + ".old"));
  }
};

QTEST_GUILESS_MAIN(TestAtomicFolder)
#include "test_atomic_folder.moc"
