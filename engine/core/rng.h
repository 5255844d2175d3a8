// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
// a counter-based generator, so element i of a dropout mask is a pure function of
// (seed, i) and the CPU and CUDA backends draw identical masks in any order.
// The functions are LW_HOST_DEVICE so CUDA kernels include this header directly.
#pragma once
#include <cstdint>

#include "engine/core/host_device.h"

namespace lw {

struct Philox4 {
  uint32_t v[4];
};

LW_HOST_DEVICE LW_FORCE_INLINE void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi,
                                                   uint32_t& lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// The raw block function: 10 rounds over a 128-bit counter with a 64-bit key.
LW_HOST_DEVICE LW_FORCE_INLINE Philox4 philox4x32_10(Philox4 ctr, uint32_t key0, uint32_t key1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(kM0, ctr.v[0], hi0, lo0);
    philox_mulhilo(kM1, ctr.v[2], hi1, lo1);
    ctr = Philox4{{hi1 ^ ctr.v[1] ^ key0, lo1, hi0 ^ ctr.v[3] ^ key1, lo0}};
    key0 += kW0;
    key1 += kW1;
  }
  return ctr;
}

// 32 random bits for stream position `counter` under `seed`: one Philox block yields
// four words, so positions 4k..4k+3 share block k (counter (k, 0, 0, 0), key = seed).
// A kernel that handles four consecutive elements can call philox4x32_10 once.
LW_HOST_DEVICE LW_FORCE_INLINE uint32_t philox_bits(uint64_t seed, uint64_t counter) {
  uint64_t block = counter >> 2;
  Philox4 ctr{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}};
  Philox4 r = philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  return r.v[counter & 3];
}

// Uniform in [0, 1) with 24 bits of resolution (exactly representable in f32).
LW_HOST_DEVICE LW_FORCE_INLINE float bits_to_uniform(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}
LW_HOST_DEVICE LW_FORCE_INLINE float philox_uniform(uint64_t seed, uint64_t counter) {
  return bits_to_uniform(philox_bits(seed, counter));
}

// A host-side stream over the same sequence, for weight init and shuffling:
// draw k is philox_bits(seed, k).
class PhiloxStream {
 public:
  explicit PhiloxStream(uint64_t seed, uint64_t counter = 0) : seed_(seed), counter_(counter) {}
  uint32_t next_u32() { return philox_bits(seed_, counter_++); }
  float uniform() { return bits_to_uniform(next_u32()); }
  // Standard normal by Box-Muller (two draws per value, no caching: the stream position
  // stays a simple function of the number of values drawn).
  float normal();
  // Uniform integer in [0, n) by rejection (unbiased).
  uint64_t below(uint64_t n);
  uint64_t counter() const { return counter_; }
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  uint64_t counter_;
};

}  // namespace lw
