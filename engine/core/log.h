// A tiny engine log: levels and one process-wide sink. The engine reports what
// a user should see (a model loaded, a run marked interrupted, a fallback
// taken) through lw::log_*; the CLI keeps the default stderr sink and the UI
// installs a sink that feeds its log dock. No Qt here, and thread-safe.
#pragma once
#include <functional>
#include <string>

namespace lw {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

const char* log_level_name(LogLevel level);  // "debug", "info", "warn", "error"

// Called for every message at or above the threshold, from whichever thread
// logged it; a sink must be thread-safe and must not block for long.
using LogSink = std::function<void(LogLevel level, const std::string& message)>;

// Installs a sink and returns the previous one; an empty sink restores the
// default (messages at warn and above go to stderr).
LogSink set_log_sink(LogSink sink);
void set_log_threshold(LogLevel level);  // default: kInfo
LogLevel log_threshold();

void log(LogLevel level, const std::string& message);
inline void log_debug(const std::string& m) { log(LogLevel::kDebug, m); }
inline void log_info(const std::string& m) { log(LogLevel::kInfo, m); }
inline void log_warn(const std::string& m) { log(LogLevel::kWarn, m); }
inline void log_error(const std::string& m) { log(LogLevel::kError, m); }

}  // namespace lw
