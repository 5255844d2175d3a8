// LogRelay: the bridge from the engine log (lw::set_log_sink, any thread) to Qt.
// One process-wide object that lives as long as the application; emitting its
// signal from a worker thread is queued to the receivers' threads by Qt, so a
// log dock can come and go without racing the engine's threads.
#pragma once
#include <QDateTime>
#include <QObject>
#include <QString>

class LogRelay : public QObject {
  Q_OBJECT
 public:
  static LogRelay* instance();
  // Installs the engine sink (idempotent). Messages also go to stderr at warn+.
  static void installEngineSink();

 signals:
  void messageLogged(int level, const QString& message, const QDateTime& when);

 private:
  LogRelay() = default;
};
