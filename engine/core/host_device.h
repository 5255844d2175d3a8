// LW_HOST_DEVICE: marks small inline functions (dtype conversions, Philox) that
// must compile for both the host and CUDA kernels, so the CPU reference and the
// GPU backend share one definition and therefore agree bit for bit.
#pragma once

#if defined(__CUDACC__)
#define LW_HOST_DEVICE __host__ __device__
#define LW_FORCE_INLINE __forceinline__
#else
#define LW_HOST_DEVICE
#define LW_FORCE_INLINE inline
#endif
