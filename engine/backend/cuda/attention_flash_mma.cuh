// Internal to attention_flash.cu: the warp-level tensor-core pieces of the fused attention
// kernels: mma.sync m16n8k16 (bf16/f16 in, f32 accumulate), ldmatrix fragment loads from
// padded shared memory, multi-row-tile products and the cp.async tile copy.
// Fragment layouts (PTX ISA, m16n8k16): g = lane/4, t = lane%4; C rows g and g+8,
// columns 2t, 2t+1; A regs (g,2t) (g+8,2t) (g,2t+8) (g+8,2t+8); B regs (k=2t, n=g), (k=2t+8, n=g).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "engine/backend/cuda/cuda_common.cuh"

namespace lw::cuda::flash {

template <typename T> struct Mma;
template <> struct Mma<__nv_bfloat16> {
  static __device__ __forceinline__ void run(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  }
};
template <> struct Mma<__half> {
  static __device__ __forceinline__ void run(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  }
};

// 2^x on the SFU (ex2.approx, relative error ~2^-22; exp2f without fast-math is a longer
// sequence that guards denormals). ex2(-inf) = +0, which the masking relies on.
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void* p) {
  const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], const void* p) {
  const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

// A fragment (16x16, row-major in smem [row][col], leading dimension ld).
template <typename T>
__device__ __forceinline__ void load_a(uint32_t (&a)[4], const T* s, int row0, int col0, int ld) {
  const int lane = threadIdx.x & 31, m = lane >> 3, r = lane & 7;
  ldsm_x4(a, s + (row0 + r + (m & 1) * 8) * ld + col0 + (m >> 1) * 8);
}
// B fragments of two n-tiles (n0, n0+8) x 16 k, from smem stored [n][k].
template <typename T>
__device__ __forceinline__ void load_b_nk(uint32_t (&b)[4], const T* s, int n0, int k0, int ld) {
  const int lane = threadIdx.x & 31, m = lane >> 3, r = lane & 7;
  ldsm_x4(b, s + (n0 + r + (m >> 1) * 8) * ld + k0 + (m & 1) * 8);
}
// B fragments of two n-tiles (n0, n0+8) x 16 k, from smem stored [k][n].
template <typename T>
__device__ __forceinline__ void load_b_kn(uint32_t (&b)[4], const T* s, int k0, int n0, int ld) {
  const int lane = threadIdx.x & 31, m = lane >> 3, r = lane & 7;
  ldsm_x4_t(b, s + (k0 + r + (m & 1) * 8) * ld + n0 + (m >> 1) * 8);
}

// The A fragments of rows [row0, row0+16) x D of a row-major smem matrix (kept in
// registers by the kernels whose A operand is the same for every tile).
template <typename T, int D>
__device__ __forceinline__ void load_a_frags(uint32_t (&a)[D / 16][4], const T* A, int row0, int ld) {
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) load_a(a[kk], A, row0, kk * 16, ld);
}

// A fragment (16x16) of a matrix stored transposed in smem ([k][m], leading dimension ld).
template <typename T>
__device__ __forceinline__ void load_a_t(uint32_t (&a)[4], const T* s, int m0, int k0, int ld) {
  const int lane = threadIdx.x & 31, m = lane >> 3, r = lane & 7;
  ldsm_x4_t(a, s + (k0 + r + (m >> 1) * 8) * ld + m0 + (m & 1) * 8);
}

// Multi-row-tile products: a warp owns MT row tiles of 16, so every B fragment read from
// shared memory feeds MT mma instructions (at MT = 1 the warp is shared-memory bound).
// acc[MT][N/8][4] = A[rows, :D] (rows mt*16 + row0, smem) @ B[n0 : n0+N, :D]^T (B smem [n][k]).
template <typename T, int D, int MT, int N>
__device__ __forceinline__ void mma_abt_mt(float (&acc)[MT][N / 8][4], const T* A, int row0, int lda,
                                           const T* B, int n0, int ldb) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < N / 8; ++i) acc[mt][i][0] = acc[mt][i][1] = acc[mt][i][2] = acc[mt][i][3] = 0.f;
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    uint32_t a[MT][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) load_a(a[mt], A, row0 + mt * 16, kk * 16, lda);
#pragma unroll
    for (int pp = 0; pp < N / 16; ++pp) {
      uint32_t b[4];
      load_b_nk(b, B, n0 + pp * 16, kk * 16, ldb);
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        Mma<T>::run(acc[mt][2 * pp], a[mt], b[0], b[1]);
        Mma<T>::run(acc[mt][2 * pp + 1], a[mt], b[2], b[3]);
      }
    }
  }
}
// Same with the A fragments already in registers (a[mt][kk]).
template <typename T, int D, int MT, int N>
__device__ __forceinline__ void mma_abt_mt_frags(float (&acc)[MT][N / 8][4], const uint32_t (&a)[MT][D / 16][4],
                                                 const T* B, int n0, int ldb) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < N / 8; ++i) acc[mt][i][0] = acc[mt][i][1] = acc[mt][i][2] = acc[mt][i][3] = 0.f;
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk)
#pragma unroll
    for (int pp = 0; pp < N / 16; ++pp) {
      uint32_t b[4];
      load_b_nk(b, B, n0 + pp * 16, kk * 16, ldb);
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        Mma<T>::run(acc[mt][2 * pp], a[mt][kk], b[0], b[1]);
        Mma<T>::run(acc[mt][2 * pp + 1], a[mt][kk], b[2], b[3]);
      }
    }
}
// acc[MT][D/8][4] += P[MT] (16 x K each, C-layout floats) @ B[k0 : k0+K, :D] (smem [k][n]).
template <typename T, int D, int MT, int K>
__device__ __forceinline__ void mma_pb_mt(float (&acc)[MT][D / 8][4], const float (&pm)[MT][K / 8][4], const T* B,
                                          int k0, int ld) {
#pragma unroll
  for (int j = 0; j < K / 16; ++j) {
    uint32_t a[MT][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      a[mt][0] = Mma<T>::pack(pm[mt][2 * j][0], pm[mt][2 * j][1]);
      a[mt][1] = Mma<T>::pack(pm[mt][2 * j][2], pm[mt][2 * j][3]);
      a[mt][2] = Mma<T>::pack(pm[mt][2 * j + 1][0], pm[mt][2 * j + 1][1]);
      a[mt][3] = Mma<T>::pack(pm[mt][2 * j + 1][2], pm[mt][2 * j + 1][3]);
    }
#pragma unroll
    for (int dp = 0; dp < D / 16; ++dp) {
      uint32_t b[4];
      load_b_kn(b, B, k0 + j * 16, dp * 16, ld);
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        Mma<T>::run(acc[mt][2 * dp], a[mt], b[0], b[1]);
        Mma<T>::run(acc[mt][2 * dp + 1], a[mt], b[2], b[3]);
      }
    }
  }
}

// Asynchronous copy (cp.async, 16 bytes per thread access) of rows [row0, row0+ROWS) of
// a [Tn, D] matrix into padded smem; rows past Tn are zero-filled (src-size 0).
template <typename T, int D, int ROWS, int NT>
__device__ __forceinline__ void cp_tile(T* s, const T* g, int row0, int Tn, int64_t rs) {
  constexpr int kChunks = D / 8;
  for (int c = threadIdx.x; c < ROWS * kChunks; c += NT) {
    const int r = c / kChunks, ch = c % kChunks;
    const bool ok = row0 + r < Tn;
    const T* src = g + (ok ? static_cast<int64_t>(row0 + r) * rs + ch * 8 : 0);
    const uint32_t dst = static_cast<uint32_t>(__cvta_generic_to_shared(s + r * (D + 8) + ch * 8));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(ok ? 16 : 0));
  }
}

}  // namespace lw::cuda::flash
