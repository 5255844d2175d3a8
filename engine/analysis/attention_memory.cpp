// Capture memory for attention probabilities: B*L*H*T*T elements. The inverse
// is a square root refined with integer steps so it is exact at the boundary.
#include "engine/analysis/attention_memory.h"

#include <cmath>
#include <cstdio>

namespace lw {
namespace {

Result<uint64_t> per_square_token(const AttentionCaptureShape& s) {
  LW_CHECK(s.batch > 0 && s.n_layer > 0 && s.n_head > 0,
           "attention capture: batch, layers and heads must be positive (got B=" + std::to_string(s.batch) +
               " L=" + std::to_string(s.n_layer) + " H=" + std::to_string(s.n_head) + ")");
  LW_CHECK(dtype_is_float(s.dtype),
           std::string("attention capture: dtype ") + dtype_name(s.dtype) + " is not a float type");
  unsigned __int128 v = static_cast<unsigned __int128>(s.batch) * static_cast<uint64_t>(s.n_layer) *
                        static_cast<uint64_t>(s.n_head) * dtype_size(s.dtype);
  LW_CHECK(v <= UINT64_MAX, "attention capture: B*L*H*dtype size overflows 64 bits");
  return static_cast<uint64_t>(v);
}

}  // namespace

Result<uint64_t> attention_capture_bytes(const AttentionCaptureShape& shape, int64_t n_tok) {
  LW_ASSIGN_OR_RETURN(uint64_t unit, per_square_token(shape));
  LW_CHECK(n_tok > 0, "attention capture: token count must be positive (got " + std::to_string(n_tok) + ")");
  const unsigned __int128 v =
      static_cast<unsigned __int128>(unit) * static_cast<uint64_t>(n_tok) * static_cast<uint64_t>(n_tok);
  LW_CHECK(v <= UINT64_MAX, "attention capture: " + std::to_string(n_tok) + " tokens overflow 64-bit byte count");
  return static_cast<uint64_t>(v);
}

Result<int64_t> attention_max_tokens(const AttentionCaptureShape& shape, uint64_t budget_bytes) {
  LW_ASSIGN_OR_RETURN(uint64_t unit, per_square_token(shape));
  const uint64_t max_sq = budget_bytes / unit;  // largest T*T allowed
  auto fits = [&](uint64_t t) { return static_cast<unsigned __int128>(t) * t <= max_sq; };
  uint64_t t = static_cast<uint64_t>(std::sqrt(static_cast<long double>(max_sq)));
  while (t > 0 && !fits(t)) --t;
  while (fits(t + 1)) ++t;
  return static_cast<int64_t>(t);
}

std::string format_bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

}  // namespace lw
