// Internal to attention_flash_sm90*.cu: the Hopper warpgroup tensor-core pieces (sm_90a).
// wgmma.mma_async: a warpgroup (4 warps, 128 threads) multiplies m64 x nN x k16; A from a
// shared-memory descriptor or from registers, B from a descriptor, f32 accumulators in
// registers. The accumulator of warp w holds rows 16w..16w+15 in the m16n8 C layout of
// mma.sync per 8 columns (d[4*i..4*i+3]: (g, 8i+2t), (g, 8i+2t+1), (g+8, 8i+2t), (g+8, 8i+2t+1),
// g = lane/4, t = lane%4), and the register A fragment is mma.sync's m16n8k16 A layout, so
// the softmax of the FlashAttention-2 kernels carries over unchanged.
// Shared-memory operands use the 128-byte swizzle: rows of 64 16-bit elements (128 bytes),
// 16-byte chunk c of row r stored at chunk c ^ (r % 8), 8-row atoms of 1024 bytes, 1024-aligned.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

namespace lw::cuda::flash::sm90 {

// Byte offset of element (row, col) of a 128-byte-swizzled tile of 64-element rows.
__device__ __forceinline__ uint32_t swz(int row, int col) {
  return static_cast<uint32_t>(row * 128 + ((((col >> 3) ^ row) & 7) << 4) + (col & 7) * 2);
}

// Matrix descriptor (PTX ISA "Matrix Descriptor Format"): start address, leading and stride
// byte offsets (all >> 4), swizzle mode 1 = 128 bytes. For a K-major operand (rows along M or
// N, 64 k-elements each) the stride offset is the 1024 bytes between 8-row atoms and the
// leading one is unused; for an MN-major operand (rows along K, 64 n-elements each) the stride
// offset is the 1024 bytes between 8-k-row atoms and the leading one (the next 64 n) unused
// at n = 64.
__device__ __forceinline__ uint64_t desc_sw128(uint32_t smem_addr) {
  return static_cast<uint64_t>((smem_addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(1) << 16) |
         (static_cast<uint64_t>(1024 >> 4) << 32) | (static_cast<uint64_t>(1) << 62);
}

__device__ __forceinline__ void fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }
// Shared memory written through the generic proxy (st.shared, cp.async) made visible to the
// async proxy that wgmma reads it through; then a barrier.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// Named barrier `id` (1..15; 0 is __syncthreads) over the n threads that reach it.
__device__ __forceinline__ void named_sync(int id, int n) { asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(n) : "memory"); }

// Keeps the compiler from moving reads or writes of registers a wgmma in flight owns across
// this point (the accumulators until wait(), the register A operand likewise).
template <int N>
__device__ __forceinline__ void reg_fence(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N>
__device__ __forceinline__ void reg_fence(uint32_t (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}

// Asynchronous copy of rows [row0, row0+ROWS) of a [n, 64] matrix (rows rs elements apart)
// into a 128-byte-swizzled tile at shared address s; rows past n are zero-filled. Each of the
// NT threads copies one 16-byte chunk of every (NT/8)-th row: a multiple of 8 rows apart, so its
// chunks share one swizzled column and the passes unroll to constant offsets.
template <typename T, int ROWS, int NT>
__device__ __forceinline__ void cp_tile_sw128(uint32_t s, const T* g, int row0, int n, int64_t rs) {
  static_assert(NT % 64 == 0 && ROWS * 8 % NT == 0, "whole passes of rows 8k apart");
  constexpr int kRowsPass = NT / 8;
  const int r0 = static_cast<int>(threadIdx.x) >> 3, ch = threadIdx.x & 7;
  const uint32_t s0 = s + swz(r0, ch * 8);
#pragma unroll
  for (int i = 0; i < ROWS * 8 / NT; ++i) {
    const int r = row0 + r0 + i * kRowsPass;
    const bool ok = r < n;
    const T* src = g + (ok ? static_cast<int64_t>(r) * rs + ch * 8 : 0);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s0 + i * kRowsPass * 128), "l"(src),
                 "r"(ok ? 16 : 0));
  }
}

template <typename T> struct Wgmma;
// The two element types differ only in the instruction's type name (TY).
#define LW_WGMMA_FOR(T, TY) \
template <> struct Wgmma<T> { \
  /* d[32] (+)= A[64 x 16] @ B[16 x 64], both from descriptors; TA / TB: 0 K-major, 1 MN-major. */ \
  template <int TA, int TB> \
  static __device__ __forceinline__ void ss_n64(float (&d)[32], uint64_t a, uint64_t b, int accumulate) { \
    asm volatile( \
        "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n" \
        "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, %35, %36;\n}\n" \
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]) \
        : "l"(a), "l"(b), "r"(accumulate), "n"(TA), "n"(TB)); \
  } \
  /* d[64] (+)= A[64 x 16] (descriptor, K-major) @ B[16 x 128] (descriptor, K-major); accumulate: d += . */ \
  static __device__ __forceinline__ void ss_n128(float (&d)[64], uint64_t a, uint64_t b, int accumulate) { \
    asm volatile( \
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n" \
        "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}\n" \
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]) \
        : "l"(a), "l"(b), "r"(accumulate)); \
  } \
  /* d[32] += A[64 x 16] (registers) @ B[16 x 64] (descriptor, MN-major: rows along k). */ \
  static __device__ __forceinline__ void rs_n64_t(float (&d)[32], const uint32_t (&a)[4], uint64_t b) { \
    asm volatile( \
        "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n" \
        "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n" \
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]) \
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1)); \
  } \
};
LW_WGMMA_FOR(__nv_bfloat16, "bf16")
LW_WGMMA_FOR(__half, "f16")
#undef LW_WGMMA_FOR

}  // namespace lw::cuda::flash::sm90
