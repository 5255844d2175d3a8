// The op test table: one OpCase per (op, shape configuration). Each case says how
// to make its inputs, the double reference, how to run the op forward and backward
// through lw::ops. test_ops.cpp runs every case for each of its dtypes on the CPU
// (against the reference, with finite-difference gradients) and on CUDA (against
// the CPU). Adding an op costs one entry in make_cases().
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "op_reference.h"

namespace optest {

using lw::DType;
using lw::Result;
using lw::Tensor;
using ref::Buf;
using Tensors = std::vector<Tensor>;

enum class In {
  kGrad,     // float input in the row's dtype, gradient checked
  kConst,    // float input in the row's dtype, no gradient
  kF32,      // always f32, no gradient
  kF32Pos,   // always f32, positive (Adam's second moment)
  kInt,      // i32 in [lo, hi)
  kMask,     // i32 0/1 of shape [B, T], key 0 always 1
};

struct InSpec {
  lw::Shape shape;
  In kind = In::kGrad;
  int lo = 0, hi = 0;
  double scale = 1.0;
};

struct OpCase {
  std::string name;
  std::vector<InSpec> ins;
  std::function<std::vector<Buf>(const std::vector<Buf>&)> ref;
  std::function<Result<Tensors>(const Tensors&)> fwd;
  // Gradients of the kGrad inputs, in order, given the gradients of the first n_diff outputs.
  std::function<Result<Tensors>(const Tensors&, const Tensors&)> bwd;
  int n_diff = 1;
  // Gradient tolerance multiplier for bf16/f16 rows (ops whose backward cancels terms
  // computed from outputs rounded to the narrow dtype, e.g. softmax).
  double narrow_grad_tol = 1.0;
  std::vector<DType> dtypes{DType::kF32, DType::kBF16, DType::kF16};
  // Shapes that exercise the CUDA kernels' multi-row and wide-row paths: too big for the
  // O(n^2) finite differences, so on CPU only the forward is checked against the reference
  // (CUDA still checks forward and backward against the CPU backend).
  bool large = false;
  // Edits generated input values before tensors are made (e.g. ignored targets).
  std::function<void(std::vector<Buf>&)> fixup;
};

const std::vector<OpCase>& cases();

}  // namespace optest
