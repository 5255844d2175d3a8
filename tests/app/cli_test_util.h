// Runs an llmwb executable as a child process for the command-line tests and
// collects its exit code and output. A crash, a hang past the timeout or a
// failed start reads as code -1, so a test can never pass on a dead process.
#pragma once
#include <QProcess>
#include <QStringList>
#include <string>

namespace lwtest {

struct CliResult {
  int code = -1;
  std::string out, err;
};

inline CliResult run_cli(const QString& exe, const QStringList& args, int timeout_ms) {
  QProcess p;
  p.start(exe, args);
  CliResult r;
  if (!p.waitForFinished(timeout_ms)) {
    p.kill();
    p.waitForFinished(5000);
    r.err = "did not finish within " + std::to_string(timeout_ms) + " ms";
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = p.readAllStandardOutput().toStdString();
  r.err = p.readAllStandardError().toStdString();
  return r;
}

}  // namespace lwtest
