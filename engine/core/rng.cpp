// Host-side helpers over the Philox stream: normals and bounded integers.
#include "engine/core/rng.h"

#include <cmath>

namespace lw {

float PhiloxStream::normal() {
  // u1 in (0, 1] so log never sees 0.
  float u1 = 1.0f - uniform();
  float u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(static_cast<double>(u1)));
  return static_cast<float>(r * std::cos(6.283185307179586 * u2));
}

uint64_t PhiloxStream::below(uint64_t n) {
  if (n <= 1) return 0;
  if (n <= (1ull << 32)) {
    uint64_t limit = (1ull << 32) - ((1ull << 32) % n);
    for (;;) {
      uint64_t x = next_u32();
      if (x < limit) return x % n;
    }
  }
  for (;;) {
    uint64_t x = (static_cast<uint64_t>(next_u32()) << 32) | next_u32();
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    if (x < limit) return x % n;
  }
}

}  // namespace lw
