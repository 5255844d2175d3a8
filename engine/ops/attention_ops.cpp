// Attention, head transposes and rotary embeddings. The attention op checks the
// grouped-query layout and the key mask, then calls the backend; CUDA picks its
// fused path itself when no probabilities are requested.
#include <cmath>

#include "engine/backend/cpu/cpu_kernels.h"
#include "engine/ops/op_common.h"
#include "engine/ops/ops.h"

namespace lw::ops {
namespace {
using namespace detail;

Result<cpu::AttentionShape> check_attention(const char* op, const Tensor& q, const Tensor& k,
                                            const Tensor& v, const Tensor& key_mask,
                                            const AttentionOptions& opts) {
  const bool tm = opts.tokens_major;
  const int hd = tm ? 2 : 1, td = tm ? 1 : 2;  // dimensions of heads and tokens
  LW_TRY(check_float(op, "q", q));
  LW_CHECK(q.dim() == 4, std::string(op) + ": q must be " + (tm ? "[B, T, NH, D]" : "[B, NH, T, D]") +
                             ", got " + describe(q));
  LW_TRY(check_float(op, "k", k));
  LW_TRY(check_same_device(op, "k", k, q));
  LW_TRY(check_same_dtype(op, "k", k, q));
  LW_CHECK(k.dim() == 4 && k.size(0) == q.size(0) && k.size(3) == q.size(3),
           std::string(op) + ": k must be " + (tm ? "[B, Tk, NKV, D]" : "[B, NKV, Tk, D]") +
               " matching q " + describe(q) + ", got " + describe(k));
  LW_TRY(check_like(op, "v", v, q, k.shape()));
  cpu::AttentionShape s{};
  s.B = static_cast<int>(q.size(0));
  s.NH = static_cast<int>(q.size(hd));
  s.T = static_cast<int>(q.size(td));
  s.D = static_cast<int>(q.size(3));
  s.NKV = static_cast<int>(k.size(hd));
  s.Tk = static_cast<int>(k.size(td));
  LW_CHECK(s.NKV > 0 && s.NH % s.NKV == 0,
           std::string(op) + ": " + std::to_string(s.NH) + " query heads are not a multiple of " +
               std::to_string(s.NKV) + " key/value heads");
  LW_CHECK(s.Tk >= s.T || !opts.causal,
           std::string(op) + ": causal attention needs at least as many keys (" +
               std::to_string(s.Tk) + ") as queries (" + std::to_string(s.T) + ")");
  if (key_mask.defined()) {
    LW_TRY(check_i32(op, "key_mask", key_mask));
    LW_TRY(check_same_device(op, "key_mask", key_mask, q));
    LW_TRY(check_shape(op, "key_mask", key_mask, {s.B, s.Tk}));
  }
  s.causal = opts.causal;
  s.scale = opts.scale != 0.0f ? opts.scale : 1.0f / std::sqrt(static_cast<float>(s.D));
  return s;
}

const int32_t* mask_ptr(const Tensor& m) { return m.defined() ? m.data<int32_t>() : nullptr; }

// Token-major tensors stay in place only on the fused CUDA path (without probabilities).
bool tokens_major_in_place(const Tensor& q, const cpu::AttentionShape& s, bool with_probs) {
#if LW_WITH_CUDA
  return q.device().is_cuda() && cuda::attention_uses_flash(q.dtype(), s, with_probs);
#else
  (void)q; (void)s; (void)with_probs;
  return false;
#endif
}

AttentionOptions head_major(AttentionOptions o) {
  o.tokens_major = false;
  return o;
}

// Token-major attention on the other paths: transpose to head-major and back.
Result<AttentionOut> attention_via_head_major(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const Tensor& key_mask, const AttentionOptions& o) {
  LW_ASSIGN_OR_RETURN(Tensor qh, transpose12(q));
  LW_ASSIGN_OR_RETURN(Tensor kh, transpose12(k));
  LW_ASSIGN_OR_RETURN(Tensor vh, transpose12(v));
  LW_ASSIGN_OR_RETURN(AttentionOut res, attention(qh, kh, vh, key_mask, head_major(o)));
  LW_ASSIGN_OR_RETURN(res.out, transpose12(res.out));
  return res;
}

Result<AttentionGrads> attention_backward_via_head_major(const Tensor& dout, const Tensor& q,
                                                         const Tensor& k, const Tensor& v,
                                                         const AttentionOut& saved,
                                                         const Tensor& key_mask,
                                                         const AttentionOptions& o) {
  LW_ASSIGN_OR_RETURN(Tensor dh, transpose12(dout));
  LW_ASSIGN_OR_RETURN(Tensor qh, transpose12(q));
  LW_ASSIGN_OR_RETURN(Tensor kh, transpose12(k));
  LW_ASSIGN_OR_RETURN(Tensor vh, transpose12(v));
  AttentionOut sh = saved;
  LW_ASSIGN_OR_RETURN(sh.out, transpose12(saved.out));
  LW_ASSIGN_OR_RETURN(AttentionGrads g,
                      attention_backward(dh, qh, kh, vh, sh, key_mask, head_major(o)));
  LW_ASSIGN_OR_RETURN(g.dq, transpose12(g.dq));
  LW_ASSIGN_OR_RETURN(g.dk, transpose12(g.dk));
  LW_ASSIGN_OR_RETURN(g.dv, transpose12(g.dv));
  return g;
}

// Probability dropout runs inside the fused CUDA kernels when they take the shape (same
// Philox mask as the composed path below, without materializing the probabilities).
bool fused_dropout(const Tensor& q, const cpu::AttentionShape& s, bool want_probs) {
#if LW_WITH_CUDA
  return q.device().is_cuda() && cuda::attention_uses_flash(q.dtype(), s, want_probs);
#else
  (void)q; (void)s; (void)want_probs;
  return false;
#endif
}

// Attention with dropout on the probabilities, composed from ops (so every backend that has
// them runs it and the masks agree): P = softmax(scale q k^T) from the plain attention op,
// out = dropout(P) @ v. Backward: dP' = dout @ v^T, dP = dropout_backward(dP'),
// dS = softmax_backward(dP, P), dq = scale dS @ k, dk = scale dS^T @ q, dv = dropout(P)^T @ dout.
Status check_dropout(const char* op, const cpu::AttentionShape& s, const AttentionOptions& opts) {
  LW_CHECK(opts.dropout > 0.0f && opts.dropout < 1.0f,
           std::string(op) + ": dropout must be in [0, 1), got " + std::to_string(opts.dropout));
  return Status::ok();
}
Status check_composed_dropout(const char* op, const cpu::AttentionShape& s) {
  LW_CHECK(s.NKV == s.NH, std::string(op) + ": dropout needs as many key/value heads as query "
                                            "heads (got " + std::to_string(s.NKV) + " for " +
                                            std::to_string(s.NH) + ")");
  return Status::ok();
}

Result<Tensor> dropped_probs(const Tensor& probs, const Tensor& like, const AttentionOptions& o) {
  LW_ASSIGN_OR_RETURN(Tensor d, dropout(probs, o.dropout, o.dropout_seed, o.dropout_offset));
  if (like.dtype() == DType::kF32) return d;
  return cast(d, like.dtype());
}

Result<AttentionOut> attention_with_dropout(const Tensor& q, const Tensor& k, const Tensor& v,
                                            const Tensor& key_mask, const AttentionOptions& opts) {
  AttentionOptions plain = opts;
  plain.dropout = 0.0f;
  plain.capture_probs = true;
  LW_ASSIGN_OR_RETURN(AttentionOut res, attention(q, k, v, key_mask, plain));
  LW_ASSIGN_OR_RETURN(Tensor pd, dropped_probs(res.probs, q, opts));
  LW_ASSIGN_OR_RETURN(res.out, matmul(pd, v));
  return res;
}

Result<AttentionGrads> attention_backward_with_dropout(const Tensor& dout, const Tensor& q,
                                                       const Tensor& k, const Tensor& v,
                                                       const AttentionOut& saved,
                                                       const AttentionOptions& opts, float scale) {
  LW_CHECK(saved.probs.defined(), "attention_backward: dropout needs the forward's probs");
  AttentionGrads g;
  LW_ASSIGN_OR_RETURN(Tensor pd, dropped_probs(saved.probs, q, opts));
  LW_ASSIGN_OR_RETURN(g.dv, matmul(pd, dout, /*trans_a=*/true));
  LW_ASSIGN_OR_RETURN(Tensor dpd, matmul(dout, v, false, /*trans_b=*/true));
  if (dpd.dtype() != DType::kF32) {
    LW_ASSIGN_OR_RETURN(dpd, cast(dpd, DType::kF32));
  }
  LW_ASSIGN_OR_RETURN(Tensor dp, dropout_backward(dpd, opts.dropout, opts.dropout_seed,
                                                  opts.dropout_offset));
  LW_ASSIGN_OR_RETURN(Tensor ds, softmax_backward(dp, saved.probs));
  if (q.dtype() != DType::kF32) {
    LW_ASSIGN_OR_RETURN(ds, cast(ds, q.dtype()));
  }
  LW_ASSIGN_OR_RETURN(g.dq, matmul(ds, k, false, false, scale));
  LW_ASSIGN_OR_RETURN(g.dk, matmul(ds, q, true, false, scale));
  return g;
}

}  // namespace

Result<AttentionOut> attention(const Tensor& q, const Tensor& k, const Tensor& v,
                               const Tensor& key_mask, const AttentionOptions& opts) {
  const char* op = "attention";
  LW_ASSIGN_OR_RETURN(cpu::AttentionShape s, check_attention(op, q, k, v, key_mask, opts));
  if (opts.tokens_major) {
    if (!tokens_major_in_place(q, s, opts.capture_probs))
      return attention_via_head_major(q, k, v, key_mask, opts);
    s.tokens_major = true;
  }
  if (opts.dropout != 0.0f) {
    LW_TRY(check_dropout(op, s, opts));
    if (!fused_dropout(q, s, opts.capture_probs)) {
      LW_TRY(check_composed_dropout(op, s));
      return attention_with_dropout(q, k, v, key_mask, opts);
    }
    s.dropout = opts.dropout;
    s.dropout_seed = opts.dropout_seed;
    s.dropout_offset = opts.dropout_offset;
  }
  AttentionOut out;
  LW_ASSIGN_OR_RETURN(out.lse, Tensor::empty({s.B, s.NH, s.T}, DType::kF32, q.device()));
  if (opts.capture_probs) {
    LW_ASSIGN_OR_RETURN(out.probs, Tensor::empty({s.B, s.NH, s.T, s.Tk}, DType::kF32, q.device()));
  }
#if LW_WITH_CUDA
  if (q.device().is_cuda()) {
    LW_ASSIGN_OR_RETURN(out.out, Tensor::empty(q.shape(), q.dtype(), q.device()));
    // The launcher writes probs in q's dtype; the op returns them as f32.
    Tensor probs_raw;
    if (opts.capture_probs) {
      LW_ASSIGN_OR_RETURN(probs_raw, Tensor::empty(out.probs.shape(), q.dtype(), q.device()));
    }
    LW_TRY(cuda::attention_forward(q.dtype(), out.out.data_ptr(), out.lse.data<float>(),
                                   probs_raw.defined() ? probs_raw.data_ptr() : nullptr,
                                   q.data_ptr(), k.data_ptr(), v.data_ptr(), mask_ptr(key_mask),
                                   s, stream()));
    if (probs_raw.defined()) LW_TRY(copy(out.probs, probs_raw));
    return out;
  }
#endif
  if (!q.device().is_cpu()) return no_backend(op, q);
  LW_ASSIGN_OR_RETURN(Tensor q32, as_f32(q));
  LW_ASSIGN_OR_RETURN(Tensor k32, as_f32(k));
  LW_ASSIGN_OR_RETURN(Tensor v32, as_f32(v));
  LW_ASSIGN_OR_RETURN(Tensor o32, Tensor::empty(q.shape(), DType::kF32));
  cpu::attention_forward(o32.data<float>(), out.lse.data<float>(),
                         opts.capture_probs ? out.probs.data<float>() : nullptr,
                         q32.data<float>(), k32.data<float>(), v32.data<float>(),
                         mask_ptr(key_mask), s);
  LW_ASSIGN_OR_RETURN(out.out, from_f32(o32, q.dtype()));
  return out;
}

Result<AttentionGrads> attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k,
                                          const Tensor& v, const AttentionOut& saved,
                                          const Tensor& key_mask, const AttentionOptions& opts) {
  const char* op = "attention_backward";
  LW_ASSIGN_OR_RETURN(cpu::AttentionShape s, check_attention(op, q, k, v, key_mask, opts));
  LW_TRY(check_like(op, "dout", dout, q, q.shape()));
  LW_TRY(check_like(op, "out", saved.out, q, q.shape()));
  LW_TRY(check_tensor(op, "lse", saved.lse));
  LW_CHECK(saved.lse.dtype() == DType::kF32, std::string(op) + ": lse must be f32");
  LW_TRY(check_shape(op, "lse", saved.lse, {s.B, s.NH, s.T}));
  LW_TRY(check_same_device(op, "lse", saved.lse, q));
  if (opts.tokens_major) {
    // A forward that materialized the probabilities took the head-major path.
    if (saved.probs.defined() || !tokens_major_in_place(q, s, false))
      return attention_backward_via_head_major(dout, q, k, v, saved, key_mask, opts);
    s.tokens_major = true;
  }
  if (opts.dropout != 0.0f) {
    LW_TRY(check_dropout(op, s, opts));
    // A forward that materialized the probabilities took the composed path.
    if (saved.probs.defined() || !fused_dropout(q, s, false)) {
      LW_TRY(check_composed_dropout(op, s));
      return attention_backward_with_dropout(dout, q, k, v, saved, opts, s.scale);
    }
    s.dropout = opts.dropout;
    s.dropout_seed = opts.dropout_seed;
    s.dropout_offset = opts.dropout_offset;
  }
  AttentionGrads g;
#if LW_WITH_CUDA
  if (q.device().is_cuda()) {
    LW_ASSIGN_OR_RETURN(g.dq, Tensor::empty(q.shape(), q.dtype(), q.device()));
    LW_ASSIGN_OR_RETURN(g.dk, Tensor::empty(k.shape(), q.dtype(), q.device()));
    LW_ASSIGN_OR_RETURN(g.dv, Tensor::empty(v.shape(), q.dtype(), q.device()));
    size_t bytes = cuda::attention_backward_workspace_bytes(s);
    LW_ASSIGN_OR_RETURN(Tensor ws, Tensor::empty({static_cast<int64_t>(bytes / 4 + 1)},
                                                 DType::kF32, q.device()));
    LW_TRY(cuda::attention_backward(q.dtype(), g.dq.data_ptr(), g.dk.data_ptr(), g.dv.data_ptr(),
                                    dout.data_ptr(), q.data_ptr(), k.data_ptr(), v.data_ptr(),
                                    saved.out.data_ptr(), saved.lse.data<float>(),
                                    mask_ptr(key_mask), s, ws.data_ptr(), bytes, stream()));
    return g;
  }
#endif
  if (!q.device().is_cpu()) return no_backend(op, q);
  LW_ASSIGN_OR_RETURN(Tensor do32, as_f32(dout));
  LW_ASSIGN_OR_RETURN(Tensor q32, as_f32(q));
  LW_ASSIGN_OR_RETURN(Tensor k32, as_f32(k));
  LW_ASSIGN_OR_RETURN(Tensor v32, as_f32(v));
  LW_ASSIGN_OR_RETURN(Tensor o32, as_f32(saved.out));
  LW_ASSIGN_OR_RETURN(Tensor dq, Tensor::empty(q.shape(), DType::kF32));
  LW_ASSIGN_OR_RETURN(Tensor dk, Tensor::empty(k.shape(), DType::kF32));
  LW_ASSIGN_OR_RETURN(Tensor dv, Tensor::empty(v.shape(), DType::kF32));
  cpu::attention_backward(dq.data<float>(), dk.data<float>(), dv.data<float>(),
                          do32.data<float>(), q32.data<float>(), k32.data<float>(),
                          v32.data<float>(), o32.data<float>(), saved.lse.data<float>(),
                          mask_ptr(key_mask), s);
  LW_ASSIGN_OR_RETURN(g.dq, from_f32(dq, q.dtype()));
  LW_ASSIGN_OR_RETURN(g.dk, from_f32(dk, q.dtype()));
  LW_ASSIGN_OR_RETURN(g.dv, from_f32(dv, q.dtype()));
  return g;
}

Result<Tensor> transpose12(const Tensor& x) {
  const char* op = "transpose12";
  LW_TRY(check_float(op, "x", x));
  LW_CHECK(x.dim() == 4, std::string(op) + ": x must be 4-D [B, X, Y, D], got " + describe(x));
  int B = static_cast<int>(x.size(0)), X = static_cast<int>(x.size(1));
  int Y = static_cast<int>(x.size(2)), D = static_cast<int>(x.size(3));
#if LW_WITH_CUDA
  if (x.device().is_cuda()) {
    LW_ASSIGN_OR_RETURN(Tensor y, Tensor::empty({B, Y, X, D}, x.dtype(), x.device()));
    LW_TRY(cuda::transpose12(x.dtype(), y.data_ptr(), x.data_ptr(), B, X, Y, D, stream()));
    return y;
  }
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  LW_ASSIGN_OR_RETURN(Tensor x32, as_f32(x));
  LW_ASSIGN_OR_RETURN(Tensor y32, Tensor::empty({B, Y, X, D}, DType::kF32));
  cpu::transpose12(y32.data<float>(), x32.data<float>(), B, X, Y, D);
  return from_f32(y32, x.dtype());
}

namespace {

Result<Tensor> rope_impl(const char* op, const Tensor& x, const Tensor& positions, float theta,
                         bool backward) {
  LW_TRY(check_float(op, "x", x));
  LW_CHECK(x.dim() == 4, std::string(op) + ": x must be [B, H, T, D], got " + describe(x));
  int B = static_cast<int>(x.size(0)), H = static_cast<int>(x.size(1));
  int T = static_cast<int>(x.size(2)), D = static_cast<int>(x.size(3));
  LW_CHECK(D % 2 == 0, std::string(op) + ": head size must be even, got " + describe(x));
  if (positions.defined()) {
    LW_TRY(check_i32(op, "positions", positions));
    LW_TRY(check_same_device(op, "positions", positions, x));
    LW_TRY(check_shape(op, "positions", positions, {B, T}));
  }
  const int32_t* pos = positions.defined() ? positions.data<int32_t>() : nullptr;
  LW_ASSIGN_OR_RETURN(Tensor y, x.clone());
#if LW_WITH_CUDA
  if (x.device().is_cuda()) {
    if (backward)
      LW_TRY(cuda::rope_backward(x.dtype(), y.data_ptr(), B, H, T, D, pos, theta, stream()));
    else
      LW_TRY(cuda::rope_forward(x.dtype(), y.data_ptr(), B, H, T, D, pos, theta, stream()));
    return y;
  }
#endif
  if (!x.device().is_cpu()) return no_backend(op, x);
  LW_ASSIGN_OR_RETURN(Tensor y32, as_f32(y));
  if (backward)
    cpu::rope_backward(y32.data<float>(), B, H, T, D, pos, theta);
  else
    cpu::rope_forward(y32.data<float>(), B, H, T, D, pos, theta);
  return from_f32(y32, x.dtype());
}

}  // namespace

Result<Tensor> rope(const Tensor& x, const Tensor& positions, float theta) {
  return rope_impl("rope", x, positions, theta, false);
}

Result<Tensor> rope_backward(const Tensor& dy, const Tensor& positions, float theta) {
  return rope_impl("rope_backward", dy, positions, theta, true);
}

}  // namespace lw::ops
