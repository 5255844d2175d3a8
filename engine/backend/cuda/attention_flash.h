// Internal: the fused (flash-style) attention launchers used by attention.cu when
// the dtype is bf16/f16 and the head size is 64 or 128. Plain declarations.
#pragma once
#include <cuda_runtime_api.h>

#include "engine/backend/cuda/cuda_kernels.h"

namespace lw::cuda::flash {

Status forward(DType dtype, void* out, float* lse, const void* q, const void* k, const void* v,
               const int32_t* key_mask, const AttentionShape& s, cudaStream_t stream);
// workspace: backward_workspace_bytes(s), 16-byte aligned: delta = rowsum(dO * O) [B,NH,T] and
// the f32 dQ accumulator [B,NH,T,D] (the key-block kernels add into it with atomics), then a
// work counter.
size_t backward_workspace_bytes(const AttentionShape& s);
Status backward(DType dtype, void* dq, void* dk, void* dv, const void* dout, const void* q,
                const void* k, const void* v, const void* out, const float* lse,
                const int32_t* key_mask, const AttentionShape& s, float* workspace,
                cudaStream_t stream);

}  // namespace lw::cuda::flash
