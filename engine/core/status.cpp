// Status formatting helpers.
#include "engine/core/status.h"

namespace lw {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kAlreadyExists: return "already exists";
    case StatusCode::kOutOfMemory: return "out of memory";
    case StatusCode::kUnsupported: return "unsupported";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kIoError: return "i/o error";
    case StatusCode::kDataLoss: return "data loss";
    case StatusCode::kDeviceError: return "device error";
    case StatusCode::kNumerical: return "numerical error";
    case StatusCode::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

Status Status::with_context(const std::string& context) const {
  if (is_ok()) return *this;
  return Status(code_, context + ": " + message_);
}

namespace detail {
std::string format_location(const char* file, int line) {
  std::string f(file);
  auto pos = f.rfind("engine/");
  if (pos != std::string::npos) f = f.substr(pos);
  return f + ":" + std::to_string(line);
}
}  // namespace detail

}  // namespace lw
