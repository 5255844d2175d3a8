# Defaults for LW_CUDA / LW_NCCL: on when the toolkit (and NCCL) can be found.
# CUDA 13 lives at /usr/local/cuda on every machine of this project.
if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "nvcc")
endif()
include(CheckLanguage)
check_language(CUDA)
if(CMAKE_CUDA_COMPILER)
  set(LW_CUDA_DEFAULT ON)
else()
  set(LW_CUDA_DEFAULT OFF)
endif()
find_library(LW_NCCL_LIBRARY NAMES nccl
  HINTS /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu)
find_path(LW_NCCL_INCLUDE_DIR NAMES nccl.h
  HINTS /usr/local/cuda/include /usr/include)
if(LW_CUDA_DEFAULT AND LW_NCCL_LIBRARY AND LW_NCCL_INCLUDE_DIR)
  set(LW_NCCL_DEFAULT ON)
else()
  set(LW_NCCL_DEFAULT OFF)
endif()
