// A small fixed pool of std::threads for the CPU reference kernels. parallel_for
// splits [0, n) into contiguous chunks; calls from inside a worker run inline, so
// nested loops never deadlock. Results do not depend on the thread count: each
// index is always computed by the same sequential code.
#pragma once
#include <cstdint>
#include <functional>

namespace lw::cpu {

// Calls fn(begin, end) over chunks of [0, n). `grain` is the smallest chunk worth a thread.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
int num_threads();

}  // namespace lw::cpu
