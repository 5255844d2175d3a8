// Internal: the fused (flash-style) attention launchers used by attention.cu when
// the dtype is bf16/f16 and the head size is 64 or 128. Plain declarations.
#pragma once
#include <cuda_runtime_api.h>

#include "engine/backend/cuda/cuda_kernels.h"

namespace lw::cuda::flash {

Status forward(DType dtype, void* out, float* lse, const void* q, const void* k, const void* v,
               const int32_t* key_mask, const AttentionShape& s, cudaStream_t stream);
// delta [B,NH,T] f32 scratch (rowsum dO * O), computed here first.
Status backward(DType dtype, void* dq, void* dk, void* dv, const void* dout, const void* q,
                const void* k, const void* v, const void* out, const float* lse,
                const int32_t* key_mask, const AttentionShape& s, float* delta,
                cudaStream_t stream);

}  // namespace lw::cuda::flash
