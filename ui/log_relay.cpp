// The relay is intentionally leaked: engine threads may still log during
// static destruction, after any QObject owner would have been destroyed.
#include "ui/log_relay.h"

#include <cstdio>

#include "engine/core/log.h"

LogRelay* LogRelay::instance() {
  static LogRelay* relay = new LogRelay;
  return relay;
}

void LogRelay::installEngineSink() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  LogRelay* relay = instance();
  lw::set_log_sink([relay](lw::LogLevel level, const std::string& message) {
    if (level >= lw::LogLevel::kWarn)
      std::fprintf(stderr, "[%s] %s\n", lw::log_level_name(level), message.c_str());
    emit relay->messageLogged(int(level), QString::fromStdString(message),
                              QDateTime::currentDateTime());
  });
}
