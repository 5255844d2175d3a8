# CUDA language setup. Without an explicit architecture we build for the GPU in
# this machine ("native") or, when there is none (CI, the build machine), for
# Hopper with its architecture-specific features (sm_90a: wgmma, which the fused
# attention forward uses), the GPU machine's architecture. Override with
# -DCMAKE_CUDA_ARCHITECTURES=... for other cards.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  execute_process(COMMAND nvidia-smi -L RESULT_VARIABLE _lw_smi OUTPUT_QUIET ERROR_QUIET)
  if(_lw_smi EQUAL 0)
    set(CMAKE_CUDA_ARCHITECTURES native)
  else()
    set(CMAKE_CUDA_ARCHITECTURES 90a)
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
