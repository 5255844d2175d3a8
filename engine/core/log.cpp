// The engine log's sink registry. The sink is held through a shared_ptr copied
// under the lock and called outside it, so a sink may itself log (or be
// replaced) without deadlocking and a slow sink never serialises other threads
// on the registry.
#include "engine/core/log.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

namespace lw {
namespace {

std::mutex g_mutex;
std::shared_ptr<const LogSink> g_sink;  // null = default stderr sink
std::atomic<int> g_threshold{static_cast<int>(LogLevel::kInfo)};

void default_sink(LogLevel level, const std::string& message) {
  // Info is for UIs; a command line prints its own results, so keep stderr quiet.
  if (level < LogLevel::kWarn) return;
  std::fprintf(stderr, "[%s] %s\n", log_level_name(level), message.c_str());
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

LogSink set_log_sink(LogSink sink) {
  auto next = sink ? std::make_shared<const LogSink>(std::move(sink)) : nullptr;
  std::lock_guard<std::mutex> lock(g_mutex);
  LogSink previous = g_sink ? *g_sink : LogSink();
  g_sink = std::move(next);
  return previous;
}

void set_log_threshold(LogLevel level) { g_threshold.store(static_cast<int>(level)); }

LogLevel log_threshold() { return static_cast<LogLevel>(g_threshold.load()); }

void log(LogLevel level, const std::string& message) {
  if (static_cast<int>(level) < g_threshold.load()) return;
  std::shared_ptr<const LogSink> sink;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    sink = g_sink;
  }
  if (sink)
    (*sink)(level, message);
  else
    default_sink(level, message);
}

}  // namespace lw
