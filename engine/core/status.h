// Status and Result: how every engine function reports failure. No exception
// crosses engine/api; a Status carries a code and a message that names the
// file, field or line at fault, so the UI and the CLI can show it as it is.
#pragma once
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace lw {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad input from the user: file, field, shape, value
  kNotFound,          // a file, run or tensor that does not exist
  kAlreadyExists,
  kOutOfMemory,       // host or device allocation failed; message says how much
  kUnsupported,       // valid input we do not handle (architecture, dtype, device)
  kCancelled,         // the caller's progress callback asked to stop
  kIoError,           // the OS said no: permissions, disk full, locked
  kDataLoss,          // corrupt file or database
  kDeviceError,       // CUDA / cuBLAS / NCCL error; sticky ones need an engine restart
  kNumerical,         // NaN / Inf where a finite number was required
  kInternal,          // a bug in the engine (LW_ASSERT)
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>"
  std::string to_string() const;
  // Prepends context, e.g. with_context("loading model.safetensors").
  Status with_context(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status data_loss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status cancelled(std::string m = "cancelled") { return {StatusCode::kCancelled, std::move(m)}; }

// Result<T>: a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).is_ok()) v_ = Status(StatusCode::kInternal, "Result built from an ok Status");
  }
  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

namespace detail {
std::string format_location(const char* file, int line);
}

}  // namespace lw

#define LW_CONCAT_INNER(a, b) a##b
#define LW_CONCAT(a, b) LW_CONCAT_INNER(a, b)

// Return the Status of an expression when it is not ok.
#define LW_TRY(expr)                               \
  do {                                             \
    ::lw::Status _lw_st = (expr);                  \
    if (!_lw_st.is_ok()) return _lw_st;            \
  } while (0)

// LW_ASSIGN_OR_RETURN(auto x, make_x()); moves the value out or returns the Status.
#define LW_ASSIGN_OR_RETURN(lhs, expr)                                    \
  auto LW_CONCAT(_lw_res_, __LINE__) = (expr);                           \
  if (!LW_CONCAT(_lw_res_, __LINE__).is_ok())                            \
    return LW_CONCAT(_lw_res_, __LINE__).status();                       \
  lhs = std::move(LW_CONCAT(_lw_res_, __LINE__)).value()

// Bad input from outside: returns an InvalidArgument status with the message.
#define LW_CHECK(cond, msg)                                               \
  do {                                                                    \
    if (!(cond)) return ::lw::invalid_argument(msg);                      \
  } while (0)

// A broken engine invariant (a bug): returns Internal with file:line.
#define LW_ASSERT(cond)                                                   \
  do {                                                                    \
    if (!(cond))                                                          \
      return ::lw::internal_error(::lw::detail::format_location(__FILE__, __LINE__) + \
                                  ": assertion failed: " #cond);          \
  } while (0)
