// How much memory capturing attention probabilities takes, and the longest
// input that fits a budget: checked before a capture starts, so the UI can say
// "a 4096-token input needs 9.0 GiB; the largest that fits in 2 GiB is 1930 tokens".
#pragma once
#include <cstdint>
#include <string>

#include "engine/core/dtype.h"
#include "engine/core/status.h"

namespace lw {

struct AttentionCaptureShape {
  int64_t batch = 1;    // B
  int64_t n_layer = 0;  // L layers captured
  int64_t n_head = 0;   // H heads captured per layer
  DType dtype = DType::kF32;
};

// Bytes of B*L*H*T*T probabilities of `dtype`; an error on non-positive sizes,
// a non-float dtype or a product that overflows 64 bits.
Result<uint64_t> attention_capture_bytes(const AttentionCaptureShape& shape, int64_t n_tok);

// Largest T whose capture needs at most `budget_bytes`; 0 when not even one
// token fits.
Result<int64_t> attention_max_tokens(const AttentionCaptureShape& shape, uint64_t budget_bytes);

// "9.0 GiB", "512.0 MiB", "300 B": binary units, one decimal.
std::string format_bytes(uint64_t bytes);

}  // namespace lw
