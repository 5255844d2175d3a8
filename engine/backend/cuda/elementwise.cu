// Elementwise CUDA kernels: bias add and its backward, GELU (erf/tanh) and the fused
// bias+GELU epilogue, SiLU/SwiGLU, tanh, residual add, scale, sum of squares, casts.
// Each is a functor run by the vectorised map in cuda_common.cuh (16-byte accesses),
// computing in f32 whatever the storage type, with the CPU kernels' formulas.
#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/cuda_kernels.h"

namespace lw::cuda {

// ============================== kernels ==============================================
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

__device__ __forceinline__ float gelu(float x, GeluKind kind) {
  if (kind == GeluKind::kErf) return 0.5f * x * (1.f + erff(x * kInvSqrt2));
  const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.f + tanhf(u));
}
__device__ __forceinline__ float gelu_grad(float x, GeluKind kind) {
  if (kind == GeluKind::kErf)
    return 0.5f * (1.f + erff(x * kInvSqrt2)) + x * kInvSqrt2Pi * expf(-0.5f * x * x);
  const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
  const float t = tanhf(u);
  return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * kSqrt2OverPi * (1.f + 3.f * 0.044715f * x * x);
}
__device__ __forceinline__ float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

struct GeluFwd {
  GeluKind kind;
  __device__ void operator()(const float (&i)[1], float (&o)[1], int64_t) const { o[0] = gelu(i[0], kind); }
};
struct GeluBwd {  // in: dy, x
  GeluKind kind;
  __device__ void operator()(const float (&i)[2], float (&o)[1], int64_t) const {
    o[0] = i[0] * gelu_grad(i[1], kind);
  }
};
template <typename T>
struct BiasAdd {  // in: y
  const T* bias;
  int C;
  __device__ void operator()(const float (&i)[1], float (&o)[1], int64_t k) const {
    o[0] = i[0] + to_f(bias[k % C]);
  }
};
template <typename T>
struct BiasGelu {  // in: x
  const T* bias;
  int C;
  GeluKind kind;
  __device__ void operator()(const float (&i)[1], float (&o)[1], int64_t k) const {
    o[0] = gelu(i[0] + to_f(bias[k % C]), kind);
  }
};
struct SiluFwd {
  __device__ void operator()(const float (&i)[1], float (&o)[1], int64_t) const { o[0] = i[0] * sigmoid(i[0]); }
};
struct SiluBwd {  // in: dy, x
  __device__ void operator()(const float (&i)[2], float (&o)[1], int64_t) const {
    const float s = sigmoid(i[1]);
    o[0] = i[0] * s * (1.f + i[1] * (1.f - s));
  }
};
struct SwigluFwd {  // in: gate, up
  __device__ void operator()(const float (&i)[2], float (&o)[1], int64_t) const {
    o[0] = i[0] * sigmoid(i[0]) * i[1];
  }
};
struct SwigluBwd {  // in: dy, gate, up; out: dgate, dup
  __device__ void operator()(const float (&i)[3], float (&o)[2], int64_t) const {
    const float g = i[1], s = sigmoid(g);
    o[0] = i[0] * i[2] * s * (1.f + g * (1.f - s));
    o[1] = i[0] * g * s;
  }
};
struct TanhFwd {
  __device__ void operator()(const float (&i)[1], float (&o)[1], int64_t) const { o[0] = tanhf(i[0]); }
};
struct TanhBwd {  // in: dy, y
  __device__ void operator()(const float (&i)[2], float (&o)[1], int64_t) const {
    o[0] = i[0] * (1.f - i[1] * i[1]);
  }
};
struct AddOp {
  __device__ void operator()(const float (&i)[2], float (&o)[1], int64_t) const { o[0] = i[0] + i[1]; }
};
struct ScaleOp {
  float s;
  __device__ void operator()(const float (&i)[1], float (&o)[1], int64_t) const { o[0] = i[0] * s; }
};

// dbias[c] += sum_r dy[r,c]: a block owns 32 columns, its 32 row lanes split the rows,
// then a shared-memory tree adds the lanes in a fixed order (deterministic).
// Column sums in two passes, deterministic (fixed order, no atomics). Pass 1: block
// (x, g) sums rows g, g + G, ... of its 256-column tile; each lane holds one 16-byte packet
// (8 bf16 columns) and its 8 warps split the rows, so hundreds of blocks stream dy at
// full bandwidth (one block per 32 columns, as before, kept 24 SMs busy for C = 768).
constexpr int kBiasWarps = 8;
constexpr int kBiasMaxPartials = 1024;

template <typename T>
__global__ void __launch_bounds__(kBiasWarps * 32)
    bias_bwd_partial(float* scratch, const T* dy, int64_t rows, int C, int G) {
  constexpr int V = Packet<T>::kN;
  __shared__ float part[kBiasWarps][32 * V];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int c0 = blockIdx.x * 32 * V + lane * V;
  float acc[V];
#pragma unroll
  for (int i = 0; i < V; ++i) acc[i] = 0.f;
  if (c0 < C) {
    for (int64_t r = blockIdx.y + static_cast<int64_t>(G) * warp; r < rows;
         r += static_cast<int64_t>(G) * kBiasWarps) {
      const Packet<T> p = *reinterpret_cast<const Packet<T>*>(dy + r * C + c0);
#pragma unroll
      for (int i = 0; i < V; ++i) acc[i] += to_f(p.v[i]);
    }
  }
#pragma unroll
  for (int i = 0; i < V; ++i) part[warp][lane * V + i] = acc[i];
  __syncthreads();
  for (int j = threadIdx.x; j < 32 * V; j += blockDim.x) {
    const int c = blockIdx.x * 32 * V + j;
    if (c >= C) continue;
    float s = 0.f;
#pragma unroll
    for (int w = 0; w < kBiasWarps; ++w) s += part[w][j];
    scratch[static_cast<size_t>(blockIdx.y) * C + c] = s;
  }
}

// Pass 2: dbias[c] += sum_g scratch[g][c]; thread row ty sums g = ty, ty + 32, ..., then
// row 0 adds the 32 sums in order.
template <typename T>
__global__ void __launch_bounds__(1024) bias_bwd_finish(T* dbias, const float* scratch, int G, int C) {
  __shared__ float part[32][33];
  const int c = blockIdx.x * 32 + threadIdx.x, ty = threadIdx.y;
  float s = 0.f;
  if (c < C)
    for (int g = ty; g < G; g += 32) s += scratch[static_cast<size_t>(g) * C + c];
  part[ty][threadIdx.x] = s;
  __syncthreads();
  if (ty == 0 && c < C) {
    float t = 0.f;
    for (int k = 0; k < 32; ++k) t += part[k][threadIdx.x];
    dbias[c] = from_f<T>(to_f(dbias[c]) + t);
  }
}

// One pass with one block per 32 columns: for f32 and rows that are not 16-byte packets.
template <typename T>
__global__ void bias_backward_kernel(T* dbias, const T* dy, int64_t rows, int C) {
  __shared__ float part[32][33];
  const int c = blockIdx.x * 32 + threadIdx.x;
  float acc = 0.f;
  if (c < C)
    for (int64_t r = threadIdx.y; r < rows; r += blockDim.y) acc += to_f(dy[r * C + c]);
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float s = 0.f;
    for (int k = 0; k < static_cast<int>(blockDim.y); ++k) s += part[k][threadIdx.x];
    dbias[c] = from_f<T>(to_f(dbias[c]) + s);
  }
}

// Row groups of the two-pass column sum: about 4 blocks per SM in all, at least 8 rows each.
int bias_partials(int64_t rows, int C, int V) {
  const int64_t tiles = (C + 32 * V - 1) / (32 * V);
  int64_t g = (132 * 4 + tiles - 1) / tiles;
  const int64_t by_rows = (rows + kBiasWarps - 1) / kBiasWarps;
  if (g > by_rows) g = by_rows;
  if (g > kBiasMaxPartials) g = kBiasMaxPartials;
  return static_cast<int>(g < 1 ? 1 : g);
}

template <typename T>
__global__ void sum_squares_kernel(float* out, const T* x, int64_t n) {
  __shared__ float scratch[32];
  float acc = 0.f;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = to_f(x[i]);
    acc += v * v;
  }
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) atomicAdd(out, acc);
}

template <typename To, typename Ti>
__global__ void cast_kernel(To* y, const Ti* x, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = from_f<To>(to_f(x[i]));
}

// gelu(x + bias) forward, or backward dx = dy * gelu'(pre) with pre = x + bias rounded to the
// storage type (as a separate bias add would store it), on 16-byte packets of rows of C
// (C a multiple of the packet): one column offset per packet instead of a 64-bit modulo
// per element, and the backward in one pass (no copy of x, no separate bias add).
template <typename T, bool kBackward>
__global__ void bias_gelu_packets(T* out, const T* dy, const T* x, const T* bias, int64_t npk,
                                  int C, GeluKind kind) {
  constexpr int V = Packet<T>::kN;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < npk; i += stride) {
    const int c0 = static_cast<int>((i * V) % C);
    const Packet<T> xp = reinterpret_cast<const Packet<T>*>(x)[i];
    const Packet<T> bp = *reinterpret_cast<const Packet<T>*>(bias + c0);
    Packet<T> o;
    if constexpr (kBackward) {
      const Packet<T> gp = reinterpret_cast<const Packet<T>*>(dy)[i];
#pragma unroll
      for (int e = 0; e < V; ++e) {
        const float pre = to_f(from_f<T>(to_f(xp.v[e]) + to_f(bp.v[e])));
        o.v[e] = from_f<T>(to_f(gp.v[e]) * gelu_grad(pre, kind));
      }
    } else {
#pragma unroll
      for (int e = 0; e < V; ++e) o.v[e] = from_f<T>(gelu(to_f(xp.v[e]) + to_f(bp.v[e]), kind));
    }
    reinterpret_cast<Packet<T>*>(out)[i] = o;
  }
}

template <typename T>
bool bias_packets_ok(int64_t rows, int C, std::initializer_list<const void*> ptrs) {
  constexpr int V = Packet<T>::kN;
  if (rows <= 0 || C % V != 0) return false;
  for (const void* p : ptrs)
    if (!aligned16(p)) return false;
  return true;
}

// [B, X, Y, D] -> [B, Y, X, D]: one thread per element, reads coalesced along D.
template <typename T>
__global__ void transpose12_kernel(T* y, const T* x, int B, int X, int Y, int D) {
  const int64_t total = static_cast<int64_t>(B) * X * Y * D;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int d = static_cast<int>(i % D);
    int64_t r = i / D;
    const int yy = static_cast<int>(r % Y);
    r /= Y;
    const int xx = static_cast<int>(r % X);
    const int64_t b = r / X;
    y[((b * Y + yy) * X + xx) * D + d] = x[i];
  }
}

template <typename To>
Status cast_from(To* y, DType from, const void* x, int64_t n, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(from, "cast",
    cast_kernel<To, T><<<grid_for(n, 256), 256, 0, stream>>>(y, static_cast<const T*>(x), n));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace

// ============================== launchers ============================================
template <typename T> using P1 = MapPtrs<T, 1, 1>;
template <typename T> using P2 = MapPtrs<T, 2, 1>;

Status add_bias(DType dtype, void* y, const void* bias, int64_t rows, int C, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "add_bias", {
    P1<T> p{{static_cast<const T*>(y)}, {static_cast<T*>(y)}};
    return launch_map(p, rows * C, BiasAdd<T>{static_cast<const T*>(bias), C}, stream);
  });
  return Status::ok();
}

size_t bias_backward_scratch_bytes(int64_t rows, int C) {
  return static_cast<size_t>(bias_partials(rows, C, 8)) * C * sizeof(float);
}

Status bias_backward(DType dtype, void* dbias, const void* dy, int64_t rows, int C,
                     float* scratch, size_t scratch_bytes, cudaStream_t stream) {
  if (rows <= 0 || C <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "bias_backward", {
    constexpr int V = Packet<T>::kN;
    const int G = bias_partials(rows, C, V);
    const size_t need = static_cast<size_t>(G) * C * sizeof(float);
    if (C % V == 0 && aligned16(dy) && scratch && scratch_bytes >= need) {
      const dim3 grid((C + 32 * V - 1) / (32 * V), G);
      bias_bwd_partial<T><<<grid, kBiasWarps * 32, 0, stream>>>(scratch, static_cast<const T*>(dy),
                                                                rows, C, G);
      LW_CUDA_LAUNCH_CHECK();
      bias_bwd_finish<T><<<dim3((C + 31) / 32), dim3(32, 32), 0, stream>>>(
          static_cast<T*>(dbias), scratch, G, C);
    } else {
      bias_backward_kernel<T><<<dim3((C + 31) / 32), dim3(32, 32), 0, stream>>>(
          static_cast<T*>(dbias), static_cast<const T*>(dy), rows, C);
    }
  });
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status gelu_forward(DType dtype, void* y, const void* x, int64_t n, GeluKind kind,
                    cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "gelu_forward", {
    P1<T> p{{static_cast<const T*>(x)}, {static_cast<T*>(y)}};
    return launch_map(p, n, GeluFwd{kind}, stream);
  });
  return Status::ok();
}

Status gelu_backward(DType dtype, void* dx, const void* dy, const void* x, int64_t n,
                     GeluKind kind, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "gelu_backward", {
    P2<T> p{{static_cast<const T*>(dy), static_cast<const T*>(x)}, {static_cast<T*>(dx)}};
    return launch_map(p, n, GeluBwd{kind}, stream);
  });
  return Status::ok();
}

Status bias_gelu_forward(DType dtype, void* y, const void* x, const void* bias, int64_t rows,
                         int C, GeluKind kind, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "bias_gelu_forward", {
    if (bias_packets_ok<T>(rows, C, {y, x, bias})) {
      const int64_t npk = rows * C / Packet<T>::kN;
      bias_gelu_packets<T, false><<<grid_for(npk, 256), 256, 0, stream>>>(
          static_cast<T*>(y), nullptr, static_cast<const T*>(x), static_cast<const T*>(bias), npk, C, kind);
      LW_CUDA_LAUNCH_CHECK();
      return Status::ok();
    }
    P1<T> p{{static_cast<const T*>(x)}, {static_cast<T*>(y)}};
    return launch_map(p, rows * C, BiasGelu<T>{static_cast<const T*>(bias), C, kind}, stream);
  });
  return Status::ok();
}

bool bias_gelu_packets_ok(DType dtype, int64_t rows, int C, const void* dx, const void* dy,
                          const void* x, const void* bias) {
  switch (dtype) {
    case DType::kF32: return bias_packets_ok<float>(rows, C, {dx, dy, x, bias});
    case DType::kBF16: return bias_packets_ok<__nv_bfloat16>(rows, C, {dx, dy, x, bias});
    case DType::kF16: return bias_packets_ok<__half>(rows, C, {dx, dy, x, bias});
    default: return false;
  }
}

Status bias_gelu_backward(DType dtype, void* dx, const void* dy, const void* x, const void* bias,
                          int64_t rows, int C, GeluKind kind, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "bias_gelu_backward", {
    LW_CHECK(bias_packets_ok<T>(rows, C, {dx, dy, x, bias}),
             "bias_gelu_backward: rows of " + std::to_string(C) +
                 " values are not whole aligned 16-byte packets (use add_bias + gelu_backward)");
    const int64_t npk = rows * C / Packet<T>::kN;
    bias_gelu_packets<T, true><<<grid_for(npk, 256), 256, 0, stream>>>(
        static_cast<T*>(dx), static_cast<const T*>(dy), static_cast<const T*>(x),
        static_cast<const T*>(bias), npk, C, kind);
  });
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status silu_forward(DType dtype, void* y, const void* x, int64_t n, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "silu_forward", {
    P1<T> p{{static_cast<const T*>(x)}, {static_cast<T*>(y)}};
    return launch_map(p, n, SiluFwd{}, stream);
  });
  return Status::ok();
}

Status silu_backward(DType dtype, void* dx, const void* dy, const void* x, int64_t n,
                     cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "silu_backward", {
    P2<T> p{{static_cast<const T*>(dy), static_cast<const T*>(x)}, {static_cast<T*>(dx)}};
    return launch_map(p, n, SiluBwd{}, stream);
  });
  return Status::ok();
}

Status swiglu_forward(DType dtype, void* y, const void* gate, const void* up, int64_t n,
                      cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "swiglu_forward", {
    P2<T> p{{static_cast<const T*>(gate), static_cast<const T*>(up)}, {static_cast<T*>(y)}};
    return launch_map(p, n, SwigluFwd{}, stream);
  });
  return Status::ok();
}

Status swiglu_backward(DType dtype, void* dgate, void* dup, const void* dy, const void* gate,
                       const void* up, int64_t n, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "swiglu_backward", {
    MapPtrs<T, 3, 2> p{{static_cast<const T*>(dy), static_cast<const T*>(gate),
                        static_cast<const T*>(up)},
                       {static_cast<T*>(dgate), static_cast<T*>(dup)}};
    return launch_map(p, n, SwigluBwd{}, stream);
  });
  return Status::ok();
}

Status tanh_forward(DType dtype, void* y, const void* x, int64_t n, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "tanh_forward", {
    P1<T> p{{static_cast<const T*>(x)}, {static_cast<T*>(y)}};
    return launch_map(p, n, TanhFwd{}, stream);
  });
  return Status::ok();
}

Status tanh_backward(DType dtype, void* dx, const void* dy, const void* y, int64_t n,
                     cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "tanh_backward", {
    P2<T> p{{static_cast<const T*>(dy), static_cast<const T*>(y)}, {static_cast<T*>(dx)}};
    return launch_map(p, n, TanhBwd{}, stream);
  });
  return Status::ok();
}

Status add(DType dtype, void* y, const void* a, const void* b, int64_t n, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "add", {
    P2<T> p{{static_cast<const T*>(a), static_cast<const T*>(b)}, {static_cast<T*>(y)}};
    return launch_map(p, n, AddOp{}, stream);
  });
  return Status::ok();
}

Status scale(DType dtype, void* x, int64_t n, float s, cudaStream_t stream) {
  LW_DISPATCH_FLOAT(dtype, "scale", {
    P1<T> p{{static_cast<const T*>(x)}, {static_cast<T*>(x)}};
    return launch_map(p, n, ScaleOp{s}, stream);
  });
  return Status::ok();
}

Status sum_squares(DType dtype, float* out, const void* x, int64_t n, bool accumulate,
                   cudaStream_t stream) {
  if (!accumulate) LW_CUDA_TRY(cudaMemsetAsync(out, 0, sizeof(float), stream));
  if (n <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "sum_squares",
    sum_squares_kernel<T><<<grid_for(n, 512), 512, 0, stream>>>(out, static_cast<const T*>(x), n));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status transpose12(DType dtype, void* y, const void* x, int B, int X, int Y, int D,
                   cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(B) * X * Y * D;
  if (total <= 0) return Status::ok();
  LW_DISPATCH_FLOAT(dtype, "transpose12",
    transpose12_kernel<T><<<grid_for(total, 256), 256, 0, stream>>>(
        static_cast<T*>(y), static_cast<const T*>(x), B, X, Y, D));
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status cast(DType to, void* y, DType from, const void* x, int64_t n, cudaStream_t stream) {
  if (n <= 0) return Status::ok();
  switch (to) {
    case DType::kF32: return cast_from(static_cast<float*>(y), from, x, n, stream);
    case DType::kBF16: return cast_from(static_cast<__nv_bfloat16*>(y), from, x, n, stream);
    case DType::kF16: return cast_from(static_cast<__half*>(y), from, x, n, stream);
    default: return unsupported_dtype(to, "cast");
  }
}

}  // namespace lw::cuda
