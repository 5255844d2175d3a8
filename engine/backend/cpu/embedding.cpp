// Embedding lookup and its scatter-add backward. The backward runs over columns in
// parallel (each thread owns a column range of the table), so repeated ids never race.
#include <cstring>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/backend/cpu/thread_pool.h"

namespace lw::cpu {

void embedding_forward(float* y, const float* table, const int32_t* ids, int64_t n, int C) {
  parallel_for(n, 64, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      std::memcpy(y + i * C, table + static_cast<int64_t>(ids[i]) * C, sizeof(float) * C);
  });
}

void embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t n, int C) {
  parallel_for(C, 32, [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < n; ++i) {
      float* row = dtable + static_cast<int64_t>(ids[i]) * C;
      const float* g = dy + i * C;
      for (int64_t c = c0; c < c1; ++c) row[c] += g[c];
    }
  });
}

}  // namespace lw::cpu
