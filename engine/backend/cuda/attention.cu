// Attention entry points and the reference (materialising) CUDA path. bf16/f16 with
// head size 64/128 and no probability capture go to the fused tensor-core kernels
// (attention_flash.cu); everything else (f32, other head sizes, capture of the
// probabilities for the attention views) runs here: one block per query row keeps
// that row's scores in shared memory, writes the probabilities when asked, and the
// backward recomputes them from the saved log-sum-exp. O(T^2 D) work, no T x T buffer
// beyond the caller's probs. With AttentionShape::Tk the T queries are the last T of
// Tk key positions (KV-cache decode), as in the CPU reference.
#include "engine/backend/cuda/attention_flash.h"
#include "engine/backend/cuda/cuda_common.cuh"
#include "engine/backend/cuda/cuda_kernels.h"

namespace lw::cuda {

// ============================== kernels ==============================================
namespace {

constexpr int kRefThreads = 128;

struct RefParams {
  int B, NH, NKV, T, D, Tk;
  bool causal;
  float scale;
  const int32_t* mask;
};

__device__ __forceinline__ bool ref_attends(const RefParams& p, int b, int i, int j) {
  if (p.causal && j > p.Tk - p.T + i) return false;
  return !p.mask || p.mask[static_cast<int64_t>(b) * p.Tk + j] != 0;
}

template <typename T>
__device__ __forceinline__ float dot_row(const T* a, const float* b_smem, int D) {
  float s = 0.f;
  for (int d = 0; d < D; ++d) s += to_f(a[d]) * b_smem[d];
  return s;
}

// grid (T, B*NH). smem: scores [T] + q row [D].
template <typename T>
__global__ void ref_fwd_kernel(T* out, float* lse, T* probs, const T* q, const T* k, const T* v,
                               RefParams p) {
  extern __shared__ float sm[];
  float* sc = sm;
  float* qs = sm + p.Tk;
  __shared__ float scratch[32];
  const int i = blockIdx.x, bh = blockIdx.y, b = bh / p.NH, h = bh % p.NH;
  const int hk = h / (p.NH / p.NKV);
  const T* qr = q + (static_cast<int64_t>(bh) * p.T + i) * p.D;
  const T* kb = k + (static_cast<int64_t>(b) * p.NKV + hk) * p.Tk * p.D;
  const T* vb = v + (static_cast<int64_t>(b) * p.NKV + hk) * p.Tk * p.D;
  for (int d = threadIdx.x; d < p.D; d += blockDim.x) qs[d] = to_f(qr[d]);
  __syncthreads();
  float m = -INFINITY;
  for (int j = threadIdx.x; j < p.Tk; j += blockDim.x) {
    const float s = ref_attends(p, b, i, j) ? p.scale * dot_row(kb + static_cast<int64_t>(j) * p.D, qs, p.D)
                                            : -INFINITY;
    sc[j] = s;
    m = fmaxf(m, s);
  }
  m = block_max(m, scratch);
  float sum = 0.f;
  if (m != -INFINITY)
    for (int j = threadIdx.x; j < p.Tk; j += blockDim.x) sum += expf(sc[j] - m);
  sum = block_sum(sum, scratch);
  const float l = m == -INFINITY ? -INFINITY : m + logf(sum);
  T* pr = probs ? probs + (static_cast<int64_t>(bh) * p.T + i) * p.Tk : nullptr;
  for (int j = threadIdx.x; j < p.Tk; j += blockDim.x) {
    const float pj = l == -INFINITY ? 0.f : expf(sc[j] - l);
    sc[j] = pj;
    if (pr) pr[j] = from_f<T>(pj);
  }
  __syncthreads();
  T* orow = out + (static_cast<int64_t>(bh) * p.T + i) * p.D;
  for (int d = threadIdx.x; d < p.D; d += blockDim.x) {
    float acc = 0.f;
    for (int j = 0; j < p.Tk; ++j) acc += sc[j] * to_f(vb[static_cast<int64_t>(j) * p.D + d]);
    orow[d] = from_f<T>(acc);
  }
  if (threadIdx.x == 0) lse[static_cast<int64_t>(bh) * p.T + i] = l;
}

// grid (T, B*NH): delta_i = dO_i . O_i, then dS_ij and dq_i. smem: ds [T] + dO row + q row.
template <typename T>
__global__ void ref_dq_kernel(T* dq, float* delta, const T* dout, const T* q, const T* k,
                              const T* v, const T* out, const float* lse, RefParams p) {
  extern __shared__ float sm[];
  float* ds = sm;
  float* dos = sm + p.Tk;
  float* qs = dos + p.D;
  __shared__ float scratch[32];
  const int i = blockIdx.x, bh = blockIdx.y, b = bh / p.NH, h = bh % p.NH;
  const int hk = h / (p.NH / p.NKV);
  const int64_t row = static_cast<int64_t>(bh) * p.T + i;
  const T* kb = k + (static_cast<int64_t>(b) * p.NKV + hk) * p.Tk * p.D;
  const T* vb = v + (static_cast<int64_t>(b) * p.NKV + hk) * p.Tk * p.D;
  float dd = 0.f;
  for (int d = threadIdx.x; d < p.D; d += blockDim.x) {
    dos[d] = to_f(dout[row * p.D + d]);
    qs[d] = to_f(q[row * p.D + d]);
    dd += dos[d] * to_f(out[row * p.D + d]);
  }
  dd = block_sum(dd, scratch);  // also makes dos/qs visible to all threads
  const float l = lse[row];
  for (int j = threadIdx.x; j < p.Tk; j += blockDim.x) {
    float g = 0.f;
    if (l != -INFINITY && ref_attends(p, b, i, j)) {
      const float pj = expf(p.scale * dot_row(kb + static_cast<int64_t>(j) * p.D, qs, p.D) - l);
      g = pj * (dot_row(vb + static_cast<int64_t>(j) * p.D, dos, p.D) - dd);
    }
    ds[j] = g;
  }
  __syncthreads();
  for (int d = threadIdx.x; d < p.D; d += blockDim.x) {
    float acc = 0.f;
    for (int j = 0; j < p.Tk; ++j) acc += ds[j] * to_f(kb[static_cast<int64_t>(j) * p.D + d]);
    dq[row * p.D + d] = from_f<T>(acc * p.scale);
  }
  if (threadIdx.x == 0) delta[row] = dd;
}

// grid (T, B*NKV): key row j accumulates over its query heads and all queries, in chunks
// of kRefThreads queries (P and dS of a chunk in smem). smem: k row, v row, P, dS.
template <typename T>
__global__ void ref_dkdv_kernel(T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                                const float* lse, const float* delta, RefParams p) {
  extern __shared__ float sm[];
  float* ks = sm;
  float* vs = ks + p.D;
  float* pc = vs + p.D;          // [kRefThreads]
  float* dsc = pc + kRefThreads;  // [kRefThreads]
  float* acc_k = dsc + kRefThreads;  // [D]
  float* acc_v = acc_k + p.D;        // [D]
  const int j = blockIdx.x, bk = blockIdx.y, b = bk / p.NKV, hk = bk % p.NKV;
  const int group = p.NH / p.NKV;
  const int64_t krow = static_cast<int64_t>(bk) * p.Tk + j;
  for (int d = threadIdx.x; d < p.D; d += blockDim.x) {
    ks[d] = to_f(k[krow * p.D + d]);
    vs[d] = to_f(v[krow * p.D + d]);
    acc_k[d] = acc_v[d] = 0.f;
  }
  __syncthreads();
  for (int h = hk * group; h < (hk + 1) * group; ++h) {
    const int64_t base = (static_cast<int64_t>(b) * p.NH + h) * p.T;
    for (int i0 = 0; i0 < p.T; i0 += kRefThreads) {
      const int i = i0 + threadIdx.x;
      float pi = 0.f, dsi = 0.f;
      if (i < p.T && ref_attends(p, b, i, j) && lse[base + i] != -INFINITY) {
        const T* qr = q + (base + i) * p.D;
        const T* dr = dout + (base + i) * p.D;
        pi = expf(p.scale * dot_row(qr, ks, p.D) - lse[base + i]);
        dsi = pi * (dot_row(dr, vs, p.D) - delta[base + i]);
      }
      pc[threadIdx.x] = pi;
      dsc[threadIdx.x] = dsi;
      __syncthreads();
      const int n = min(kRefThreads, p.T - i0);
      for (int d = threadIdx.x; d < p.D; d += blockDim.x) {
        float ak = 0.f, av = 0.f;
        for (int c = 0; c < n; ++c) {
          const int64_t r = (base + i0 + c) * p.D + d;
          av += pc[c] * to_f(dout[r]);
          ak += dsc[c] * to_f(q[r]);
        }
        acc_k[d] += ak;
        acc_v[d] += av;
      }
      __syncthreads();
    }
  }
  for (int d = threadIdx.x; d < p.D; d += blockDim.x) {
    dk[krow * p.D + d] = from_f<T>(acc_k[d] * p.scale);
    dv[krow * p.D + d] = from_f<T>(acc_v[d]);
  }
}

Status set_smem(const void* kernel, size_t bytes) {
  LW_CHECK(bytes <= 220 * 1024, "attention: T too long for the reference CUDA path (" +
                                    std::to_string(bytes) + " bytes of shared memory per row)");
  return allow_smem(kernel, bytes);
}

Status check_shape(const AttentionShape& s) {
  LW_CHECK(s.B > 0 && s.NH > 0 && s.NKV > 0 && s.T > 0 && s.D > 0,
           "attention: sizes must be positive (B, NH, NKV, T, D)");
  LW_CHECK(s.NH % s.NKV == 0, "attention: NH = " + std::to_string(s.NH) +
                                  " is not a multiple of NKV = " + std::to_string(s.NKV));
  LW_CHECK(s.Tk == 0 || s.Tk >= s.T, "attention: key length Tk = " + std::to_string(s.Tk) +
                                         " is shorter than the query length T = " + std::to_string(s.T));
  return Status::ok();
}

RefParams ref_params(const AttentionShape& s, const int32_t* mask) {
  return RefParams{s.B, s.NH, s.NKV, s.T, s.D, s.Tk > 0 ? s.Tk : s.T, s.causal, s.scale, mask};
}

}  // namespace

// ============================== launchers ============================================
bool attention_uses_flash(DType dtype, const AttentionShape& s, bool want_probs) {
  return !want_probs && (dtype == DType::kBF16 || dtype == DType::kF16) &&
         (s.D == 64 || s.D == 128);
}

size_t attention_backward_workspace_bytes(const AttentionShape& s) {
  // The reference path needs delta [B,NH,T]; the fused one also its f32 dQ accumulator.
  return std::max(static_cast<size_t>(s.B) * s.NH * s.T * sizeof(float), flash::backward_workspace_bytes(s));
}

Status attention_forward(DType dtype, void* out, float* lse, void* probs, const void* q,
                         const void* k, const void* v, const int32_t* key_mask,
                         const AttentionShape& s, cudaStream_t stream) {
  LW_TRY(check_shape(s));
  if (attention_uses_flash(dtype, s, probs != nullptr))
    return flash::forward(dtype, out, lse, q, k, v, key_mask, s, stream);
  LW_CHECK(!s.tokens_major, "attention_forward: token-major tensors run on the fused path only");
  LW_CHECK(s.dropout == 0.0f, "attention_forward: probability dropout runs on the fused path "
                              "only (bf16/f16, head size 64 or 128, no captured probabilities)");
  const RefParams p = ref_params(s, key_mask);
  const int Tk = s.Tk > 0 ? s.Tk : s.T;
  const size_t smem = static_cast<size_t>(Tk + s.D) * sizeof(float);
  const dim3 grid(s.T, s.B * s.NH);
  LW_DISPATCH_FLOAT(dtype, "attention_forward", {
    LW_TRY(set_smem(reinterpret_cast<const void*>(ref_fwd_kernel<T>), smem));
    ref_fwd_kernel<T><<<grid, kRefThreads, smem, stream>>>(
        static_cast<T*>(out), lse, static_cast<T*>(probs), static_cast<const T*>(q),
        static_cast<const T*>(k), static_cast<const T*>(v), p);
  });
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

Status attention_backward(DType dtype, void* dq, void* dk, void* dv, const void* dout,
                          const void* q, const void* k, const void* v, const void* out,
                          const float* lse, const int32_t* key_mask, const AttentionShape& s,
                          void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  LW_TRY(check_shape(s));
  const size_t need = attention_backward_workspace_bytes(s);
  LW_CHECK(workspace && workspace_bytes >= need,
           "attention_backward: workspace of " + std::to_string(need) + " bytes needed, got " +
               std::to_string(workspace ? workspace_bytes : 0));
  float* delta = static_cast<float*>(workspace);
  if (attention_uses_flash(dtype, s, false))
    return flash::backward(dtype, dq, dk, dv, dout, q, k, v, out, lse, key_mask, s, delta, stream);
  LW_CHECK(!s.tokens_major, "attention_backward: token-major tensors run on the fused path only");
  LW_CHECK(s.dropout == 0.0f, "attention_backward: probability dropout runs on the fused path only");
  const RefParams p = ref_params(s, key_mask);
  const int Tk = s.Tk > 0 ? s.Tk : s.T;
  const size_t smem_q = static_cast<size_t>(Tk + 2 * s.D) * sizeof(float);
  const size_t smem_k = static_cast<size_t>(4 * s.D + 2 * kRefThreads) * sizeof(float);
  LW_DISPATCH_FLOAT(dtype, "attention_backward", {
    LW_TRY(set_smem(reinterpret_cast<const void*>(ref_dq_kernel<T>), smem_q));
    LW_TRY(set_smem(reinterpret_cast<const void*>(ref_dkdv_kernel<T>), smem_k));
    ref_dq_kernel<T><<<dim3(s.T, s.B * s.NH), kRefThreads, smem_q, stream>>>(
        static_cast<T*>(dq), delta, static_cast<const T*>(dout), static_cast<const T*>(q),
        static_cast<const T*>(k), static_cast<const T*>(v), static_cast<const T*>(out), lse, p);
    LW_CUDA_LAUNCH_CHECK();
    ref_dkdv_kernel<T><<<dim3(Tk, s.B * s.NKV), kRefThreads, smem_k, stream>>>(
        static_cast<T*>(dk), static_cast<T*>(dv), static_cast<const T*>(dout),
        static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), lse, delta,
        p);
  });
  LW_CUDA_LAUNCH_CHECK();
  return Status::ok();
}

}  // namespace lw::cuda
