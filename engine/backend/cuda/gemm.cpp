// GEMM on CUDA through cuBLASLt: row-major C = op(A) op(B) mapped onto cuBLAS's
// column-major view (C^T = op(B)^T op(A)^T, so B goes first), f32 / TF32 / bf16 / f16
// with f32 accumulation, strided batches, and fused bias / bias+GELU(+aux) epilogues.
// A plan (descriptors + the heuristic's algorithm) is cached per shape, and each
// (device, stream) owns a preallocated workspace, so a steady-state call allocates
// nothing and is safe inside CUDA-graph capture. Shapes cuBLASLt declines fall back to
// cublasGemmStridedBatchedEx plus our own epilogue kernels.
#include <cublasLt.h>
#include <cublas_v2.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/cuda_kernels.h"

namespace lw::cuda {

namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;  // cuBLASLt's recommendation for Hopper

std::atomic<int> g_f32_math{static_cast<int>(F32Math::kExact)};

struct PlanKey {
  int device, dtype, math, ta, tb, M, N, K, lda, ldb, ldc, batch, epilogue, align;
  int64_t sa, sb, sc;
  auto tie() const {
    return std::tie(device, dtype, math, ta, tb, M, N, K, lda, ldb, ldc, batch, epilogue, align,
                    sa, sb, sc);
  }
  bool operator<(const PlanKey& o) const { return tie() < o.tie(); }
};

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // cuBLAS order: a = our B
  cublasLtMatmulAlgo_t algo{};
  bool usable = false;  // false: cuBLASLt offered no algorithm, use the fallback
};

struct DeviceContext {
  cublasLtHandle_t lt = nullptr;
  cublasHandle_t blas = nullptr;
  std::map<PlanKey, std::unique_ptr<Plan>> plans;
  std::map<cudaStream_t, void*> workspaces;
};

std::mutex g_mu;  // guards everything below and the shared handles during a call
std::map<int, DeviceContext> g_devices;

cudaDataType_t cuda_type(DType d) {
  switch (d) {
    case DType::kBF16: return CUDA_R_16BF;
    case DType::kF16: return CUDA_R_16F;
    default: return CUDA_R_32F;
  }
}

int alignment_of(const void* p) {
  auto u = reinterpret_cast<uintptr_t>(p);
  int a = 256;
  while (a > 1 && (u % a) != 0) a >>= 1;
  return a;
}

// The context of the current device with its handles and this stream's workspace.
Status context_for(cudaStream_t stream, DeviceContext** out, void** workspace, int* device) {
  LW_CUDA_TRY(cudaGetDevice(device));
  DeviceContext& ctx = g_devices[*device];
  if (!ctx.lt) LW_CUBLAS_TRY(cublasLtCreate(&ctx.lt));
  if (!ctx.blas) LW_CUBLAS_TRY(cublasCreate(&ctx.blas));
  auto it = ctx.workspaces.find(stream);
  if (it == ctx.workspaces.end()) {
    void* ws = nullptr;
    cudaError_t err = cudaMalloc(&ws, kWorkspaceBytes);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return out_of_memory(kWorkspaceBytes, *device, "the cuBLASLt workspace");
    }
    LW_CUDA_TRY(err);
    it = ctx.workspaces.emplace(stream, ws).first;
  }
  *out = &ctx;
  *workspace = it->second;
  return Status::ok();
}

Status make_layout(cublasLtMatrixLayout_t* l, cudaDataType_t t, int rows, int cols, int ld,
                   int batch, int64_t stride) {
  LW_CUBLAS_TRY(cublasLtMatrixLayoutCreate(l, t, rows, cols, ld));
  if (batch > 1) {
    LW_CUBLAS_TRY(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch,
                                                   sizeof batch));
    LW_CUBLAS_TRY(cublasLtMatrixLayoutSetAttribute(
        *l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
  }
  return Status::ok();
}

Status build_plan(DeviceContext& ctx, const PlanKey& k, DType dtype, Plan* p) {
  const cudaDataType_t t = cuda_type(dtype);
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  if (dtype == DType::kF32 && k.math == static_cast<int>(F32Math::kTF32))
    compute = CUBLAS_COMPUTE_32F_FAST_TF32;
  LW_CUBLAS_TRY(cublasLtMatmulDescCreate(&p->desc, compute, CUDA_R_32F));
  const cublasOperation_t op_first = k.tb ? CUBLAS_OP_T : CUBLAS_OP_N;   // our B
  const cublasOperation_t op_second = k.ta ? CUBLAS_OP_T : CUBLAS_OP_N;  // our A
  LW_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_first,
                                               sizeof op_first));
  LW_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_second,
                                               sizeof op_second));
  cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
  switch (static_cast<Epilogue>(k.epilogue)) {
    case Epilogue::kNone: break;
    case Epilogue::kBias: epi = CUBLASLT_EPILOGUE_BIAS; break;
    case Epilogue::kBiasGelu: epi = CUBLASLT_EPILOGUE_GELU_BIAS; break;
    case Epilogue::kBiasGeluAux: epi = CUBLASLT_EPILOGUE_GELU_AUX_BIAS; break;
  }
  LW_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi,
                                               sizeof epi));
  if (static_cast<Epilogue>(k.epilogue) == Epilogue::kBiasGeluAux) {
    const int64_t ld = k.ldc;
    LW_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD,
                                                 &ld, sizeof ld));
    const int64_t bs = k.sc;
    LW_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(
        p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, &bs, sizeof bs));
  }
  // Stored shapes in column-major terms (see the file comment).
  LW_TRY(make_layout(&p->a, t, k.tb ? k.K : k.N, k.tb ? k.N : k.K, k.ldb, k.batch, k.sb));
  LW_TRY(make_layout(&p->b, t, k.ta ? k.M : k.K, k.ta ? k.K : k.M, k.lda, k.batch, k.sa));
  LW_TRY(make_layout(&p->c, t, k.N, k.M, k.ldc, k.batch, k.sc));

  cublasLtMatmulPreference_t pref = nullptr;
  LW_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t ws = kWorkspaceBytes;
  const uint32_t align = static_cast<uint32_t>(k.align);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
  for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof align);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(ctx.lt, p->desc, p->a, p->b, p->c, p->c, pref,
                                                     1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  p->usable = hs == CUBLAS_STATUS_SUCCESS && found > 0;
  if (p->usable) p->algo = result.algo;
  return Status::ok();
}

// cuBLAS fallback (no fused epilogue: ours runs afterwards).
Status fallback(DeviceContext& ctx, void* workspace, DType dtype, const PlanKey& k, float alpha,
                const void* A, const void* B, float beta, void* C, Epilogue epi, const void* bias,
                void* aux, cudaStream_t stream) {
  if (epi != Epilogue::kNone)
    LW_CHECK(k.ldc == k.N && (k.batch == 1 || k.sc == static_cast<int64_t>(k.M) * k.N),
             "gemm: fused epilogue fallback needs a contiguous C (ldc == N)");
  LW_CUBLAS_TRY(cublasSetStream(ctx.blas, stream));
  LW_CUBLAS_TRY(cublasSetWorkspace(ctx.blas, workspace, kWorkspaceBytes));
  const cudaDataType_t t = cuda_type(dtype);
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  if (dtype == DType::kF32 && k.math == static_cast<int>(F32Math::kTF32))
    compute = CUBLAS_COMPUTE_32F_FAST_TF32;
  LW_CUBLAS_TRY(cublasGemmStridedBatchedEx(
      ctx.blas, k.tb ? CUBLAS_OP_T : CUBLAS_OP_N, k.ta ? CUBLAS_OP_T : CUBLAS_OP_N, k.N, k.M, k.K,
      &alpha, B, t, k.ldb, k.sb, A, t, k.lda, k.sa, &beta, C, t, k.ldc, k.sc, k.batch, compute,
      CUBLAS_GEMM_DEFAULT));
  if (epi == Epilogue::kNone) return Status::ok();
  const int64_t rows = static_cast<int64_t>(k.M) * k.batch;
  LW_TRY(add_bias(dtype, C, bias, rows, k.N, stream));
  if (epi == Epilogue::kBiasGeluAux)
    LW_CUDA_TRY(cudaMemcpyAsync(aux, C, rows * k.N * dtype_size(dtype), cudaMemcpyDeviceToDevice,
                                stream));
  if (epi != Epilogue::kBias) LW_TRY(gelu_forward(dtype, C, C, rows * k.N, GeluKind::kTanh, stream));
  return Status::ok();
}

}  // namespace

void set_f32_math(F32Math math) { g_f32_math = static_cast<int>(math); }
F32Math f32_math() { return static_cast<F32Math>(g_f32_math.load()); }

Status gemm_prepare(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(g_mu);
  DeviceContext* ctx = nullptr;
  void* ws = nullptr;
  int device = 0;
  return context_for(stream, &ctx, &ws, &device);
}

Status gemm_epilogue(DType dtype, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                     const void* A, int lda, int64_t stride_a, const void* B, int ldb,
                     int64_t stride_b, float beta, void* C, int ldc, int64_t stride_c, int batch,
                     Epilogue epilogue, const void* bias, void* aux, cudaStream_t stream) {
  if (dtype != DType::kF32 && dtype != DType::kBF16 && dtype != DType::kF16)
    return unsupported(std::string("gemm: no CUDA path for dtype ") + dtype_name(dtype));
  LW_CHECK(M >= 0 && N >= 0 && K >= 0 && batch >= 1,
           "gemm: bad sizes M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" +
               std::to_string(K) + " batch=" + std::to_string(batch));
  LW_CHECK(ldc >= N && lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N),
           "gemm: leading dimension smaller than the row length");
  LW_CHECK(epilogue == Epilogue::kNone || bias, "gemm: bias epilogue without a bias pointer");
  LW_CHECK(epilogue != Epilogue::kBiasGeluAux || aux, "gemm: GELU aux epilogue without aux");
  if (M == 0 || N == 0) return Status::ok();
  if (K == 0) {  // C = beta * C (cuBLAS handles it, but keep the semantics explicit)
    for (int b = 0; b < batch; ++b)  // rows' padding (ldc > N) is scaled too: harmless
      LW_TRY(scale(dtype, static_cast<char*>(C) + b * stride_c * dtype_size(dtype),
                   static_cast<int64_t>(ldc) * (M - 1) + N, beta, stream));
    return Status::ok();
  }
  int align = 256;
  for (const void* p : {A, B, static_cast<const void*>(C), bias, static_cast<const void*>(aux)})
    if (p) align = std::min(align, alignment_of(p));
  PlanKey key{0, static_cast<int>(dtype), dtype == DType::kF32 ? g_f32_math.load() : 0,
              trans_a, trans_b, M, N, K, lda, ldb, ldc, batch, static_cast<int>(epilogue), align,
              batch > 1 ? stride_a : 0, batch > 1 ? stride_b : 0, batch > 1 ? stride_c : 0};

  std::lock_guard<std::mutex> lock(g_mu);
  DeviceContext* ctx = nullptr;
  void* ws = nullptr;
  LW_TRY(context_for(stream, &ctx, &ws, &key.device));
  auto& slot = ctx->plans[key];
  if (!slot) {
    auto plan = std::make_unique<Plan>();
    LW_TRY(build_plan(*ctx, key, dtype, plan.get()));
    slot = std::move(plan);
  }
  Plan& p = *slot;
  if (!p.usable)
    return fallback(*ctx, ws, dtype, key, alpha, A, B, beta, C, epilogue, bias, aux, stream);
  if (epilogue != Epilogue::kNone)
    LW_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                 sizeof bias));
  if (epilogue == Epilogue::kBiasGeluAux)
    LW_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER,
                                                 &aux, sizeof aux));
  cublasStatus_t st = cublasLtMatmul(ctx->lt, p.desc, &alpha, B, p.a, A, p.b, &beta, C, p.c, C,
                                     p.c, &p.algo, ws, kWorkspaceBytes, stream);
  if (st == CUBLAS_STATUS_NOT_SUPPORTED) {
    p.usable = false;  // remember: this shape goes to the fallback from now on
    return fallback(*ctx, ws, dtype, key, alpha, A, B, beta, C, epilogue, bias, aux, stream);
  }
  LW_CUBLAS_TRY(st);
  return Status::ok();
}

Status gemm(DType dtype, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
            const void* A, int lda, int64_t stride_a, const void* B, int ldb, int64_t stride_b,
            float beta, void* C, int ldc, int64_t stride_c, int batch, cudaStream_t stream) {
  return gemm_epilogue(dtype, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b,
                       beta, C, ldc, stride_c, batch, Epilogue::kNone, nullptr, nullptr, stream);
}

}  // namespace lw::cuda
