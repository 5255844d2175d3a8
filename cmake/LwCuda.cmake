# CUDA language setup. Without an explicit architecture we build for the GPU in
# this machine ("native") or, when there is none (CI, the build machine), for
# Hopper (sm_90), the GPU machine's architecture. Override with
# -DCMAKE_CUDA_ARCHITECTURES=... for other cards.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  execute_process(COMMAND nvidia-smi -L RESULT_VARIABLE _lw_smi OUTPUT_QUIET ERROR_QUIET)
  if(_lw_smi EQUAL 0)
    set(CMAKE_CUDA_ARCHITECTURES native)
  else()
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 20)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
find_package(CUDAToolkit REQUIRED)
