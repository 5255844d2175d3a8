// The engine never includes Qt (ARCHITECTURE.md §1): no Qt header in engine/
// sources, and no Qt include path on any engine compile command.
#include <QDirIterator>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QtTest>

class TestEngineLayering : public QObject {
  Q_OBJECT
 private slots:
  void engineSourcesIncludeNoQtHeader() {
    const QString root = QStringLiteral(LW_SOURCE_DIR "/engine");
    // <QString>, <QtCore/...>, <qglobal.h>, "QObject" ...
    const QRegularExpression qtInclude(
        QStringLiteral("^\\s*#\\s*include\\s*[<\"](Q[A-Za-z]+|Qt[A-Za-z]*/|q[a-z]+\\.h)"),
        QRegularExpression::MultilineOption);
    QStringList offenders;
    int scanned = 0;
    QDirIterator it(root, {"*.h", "*.hpp", "*.cpp", "*.cu", "*.cuh", "*.in"}, QDir::Files,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
      const QString path = it.next();
      QFile f(path);
      QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable("cannot read " + path));
      ++scanned;
      const QString text = QString::fromUtf8(f.readAll());
      auto m = qtInclude.match(text);
      if (m.hasMatch()) offenders << path + ": " + m.captured(0).trimmed();
    }
    QVERIFY2(scanned > 0, "no engine sources found");
    QVERIFY2(offenders.isEmpty(), qPrintable("engine/ includes Qt:\n" + offenders.join('\n')));
  }

  void engineCompileCommandsHaveNoQt() {
    QFile f(QStringLiteral(LW_BINARY_DIR "/compile_commands.json"));
    if (!f.open(QIODevice::ReadOnly)) QSKIP("compile_commands.json not exported by this generator");
    const QJsonArray commands = QJsonDocument::fromJson(f.readAll()).array();
    const QString engineDir = QStringLiteral(LW_SOURCE_DIR "/engine/");
    int engineFiles = 0;
    for (const auto& v : commands) {
      const QJsonObject o = v.toObject();
      if (!o.value("file").toString().startsWith(engineDir)) continue;
      ++engineFiles;
      const QString cmd = o.value("command").toString();
      QVERIFY2(!cmd.contains("qt6", Qt::CaseInsensitive) && !cmd.contains("QT_"),
               qPrintable("engine file compiled with Qt flags: " + o.value("file").toString()));
    }
    QVERIFY2(engineFiles > 0, "no engine compile commands found");
  }
};

QTEST_GUILESS_MAIN(TestEngineLayering)
#include "test_engine_layering.moc"
