# CUDA language setup. Without an explicit architecture we build for Hopper with its
# architecture-specific features (sm_90a: wgmma, which the fused attention forward uses)
# when this machine has a Hopper GPU or none (CI, the build machine; the GPU machine is an
# H100/H200), else for the GPU in this machine ("native"). Override with
# -DCMAKE_CUDA_ARCHITECTURES=... for other cards.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  execute_process(COMMAND nvidia-smi --query-gpu=compute_cap --format=csv,noheader
                  RESULT_VARIABLE _lw_smi OUTPUT_VARIABLE _lw_cc ERROR_QUIET
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _lw_smi EQUAL 0)
    set(CMAKE_CUDA_ARCHITECTURES 90a)
  elseif(_lw_cc MATCHES "^9\\.0")
    # "native" would give sm_90 without the architecture-specific features.
    set(CMAKE_CUDA_ARCHITECTURES 90a)
  else()
    set(CMAKE_CUDA_ARCHITECTURES native)
  endif()
endif()
enable_language(CUDA)
# CMake < 3.26 does not know nvcc's C++20 flag (nvcc 12+ has it): teach it.
if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
endif()
set(CMAKE_CUDA_STANDARD 20)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
find_package(CUDAToolkit REQUIRED)
