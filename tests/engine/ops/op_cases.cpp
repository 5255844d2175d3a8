// The rows of the op test table (see op_cases.h). Shapes cover odd sizes, T = 1,
// large heads, grouped-query attention and KV-cache style Tq < Tk.
#include "op_cases.h"

#include <cmath>
#include <tuple>

namespace optest {
namespace {

using namespace lw;

// Unwraps a Result inside a lambda returning Result<Tensors>.
#define TRY_T(lhs, expr) LW_ASSIGN_OR_RETURN(lhs, expr)

Result<Tensor> zeros_like(const Tensor& t) { return Tensor::zeros(t.shape(), t.dtype(), t.device()); }

void add_matmul(std::vector<OpCase>& v, const std::string& tag, Shape a, Shape b, bool ta, bool tb) {
  OpCase c;
  c.name = "matmul/" + tag;
  c.ins = {{a}, {b}};
  c.ref = [=](const std::vector<Buf>& in) { return std::vector<Buf>{ref::matmul(in[0], in[1], ta, tb, 0.5)}; };
  c.fwd = [=](const Tensors& t) -> Result<Tensors> {
    TRY_T(Tensor y, ops::matmul(t[0], t[1], ta, tb, 0.5f));
    return Tensors{y};
  };
  // d(op(a)) = 0.5 dy op(b)^T, d(op(b)) = 0.5 op(a)^T dy, expressed with matmul_into.
  c.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    TRY_T(Tensor da, zeros_like(t[0]));
    TRY_T(Tensor db, zeros_like(t[1]));
    if (!ta) LW_TRY(ops::matmul_into(da, dy[0], t[1], false, !tb, 0.5f, 0.0f));
    else LW_TRY(ops::matmul_into(da, t[1], dy[0], tb, true, 0.5f, 0.0f));
    if (t[1].dim() == 2 && t[0].dim() > 2) {
      // Shared b: sum over the batch by flattening it into the rows.
      int64_t K = t[0].size(-1), M = t[0].size(-2);
      TRY_T(Tensor a2, t[0].reshape({-1, K}));
      TRY_T(Tensor d2, dy[0].reshape({-1, dy[0].size(-1)}));
      (void)M;
      if (!tb) LW_TRY(ops::matmul_into(db, a2, d2, true, false, 0.5f, 0.0f));
      else LW_TRY(ops::matmul_into(db, d2, a2, true, false, 0.5f, 0.0f));
    } else if (!tb) {
      LW_TRY(ops::matmul_into(db, t[0], dy[0], !ta, false, 0.5f, 0.0f));
    } else {
      LW_TRY(ops::matmul_into(db, dy[0], t[0], true, ta, 0.5f, 0.0f));
    }
    return Tensors{da, db};
  };
  v.push_back(c);
}

void add_linear(std::vector<OpCase>& v, const std::string& tag, Shape x, int N, bool bias, bool w_kn) {
  OpCase c;
  int64_t K = x.back();
  c.name = "linear/" + tag;
  c.ins = {{x}, {w_kn ? Shape{K, N} : Shape{N, K}, In::kGrad, 0, 0, 0.5}};
  if (bias) c.ins.push_back({{N}});
  c.ref = [=](const std::vector<Buf>& in) {
    return std::vector<Buf>{ref::linear(in[0], in[1], bias ? &in[2] : nullptr, w_kn)};
  };
  c.fwd = [=](const Tensors& t) -> Result<Tensors> {
    TRY_T(Tensor y, ops::linear(t[0], t[1], bias ? t[2] : Tensor(), w_kn));
    return Tensors{y};
  };
  c.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    TRY_T(Tensor dw, zeros_like(t[1]));
    Tensor db;
    if (bias) {
      TRY_T(db, zeros_like(t[2]));
    }
    TRY_T(Tensor dx, ops::linear_backward(dy[0], t[0], t[1], &dw, bias ? &db : nullptr, w_kn));
    if (bias) return Tensors{dx, dw, db};
    return Tensors{dx, dw};
  };
  v.push_back(c);
}

void add_norms(std::vector<OpCase>& v, int64_t rows, int C) {
  std::string tag = std::to_string(rows) + "x" + std::to_string(C);
  const float eps = 1e-5f;
  OpCase ln;
  ln.name = "layernorm/" + tag;
  ln.ins = {{{rows, C}}, {{C}}, {{C}}};
  ln.ref = [=](const std::vector<Buf>& in) { return ref::norm(in[0], in[1], &in[2], eps, false); };
  ln.fwd = [=](const Tensors& t) -> Result<Tensors> {
    TRY_T(ops::NormOut o, ops::layernorm(t[0], t[1], t[2], eps));
    return Tensors{o.y, o.mean, o.rstd};
  };
  ln.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    TRY_T(ops::NormOut o, ops::layernorm(t[0], t[1], t[2], eps));
    TRY_T(Tensor dw, zeros_like(t[1]));
    TRY_T(Tensor db, zeros_like(t[2]));
    TRY_T(Tensor dx, ops::layernorm_backward(dy[0], t[0], t[1], o, &dw, &db));
    return Tensors{dx, dw, db};
  };
  v.push_back(ln);

  OpCase rl;
  rl.name = "residual_layernorm/" + tag;
  rl.ins = {{{rows, C}}, {{rows, C}}, {{C}}, {{C}}};
  rl.n_diff = 2;
  rl.ref = [=](const std::vector<Buf>& in) {
    Buf sum = in[0];
    for (int64_t i = 0; i < sum.n(); ++i) sum.v[i] += in[1].v[i];
    auto n = ref::norm(sum, in[2], &in[3], eps, false);
    return std::vector<Buf>{sum, n[0], n[1], n[2]};
  };
  rl.fwd = [=](const Tensors& t) -> Result<Tensors> {
    TRY_T(ops::ResidualNormOut o, ops::residual_layernorm(t[0], t[1], t[2], t[3], eps));
    return Tensors{o.sum, o.norm.y, o.norm.mean, o.norm.rstd};
  };
  rl.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    TRY_T(ops::ResidualNormOut o, ops::residual_layernorm(t[0], t[1], t[2], t[3], eps));
    TRY_T(Tensor dw, zeros_like(t[2]));
    TRY_T(Tensor db, zeros_like(t[3]));
    TRY_T(Tensor d, ops::residual_layernorm_backward(dy[1], dy[0], t[2], o, &dw, &db));
    return Tensors{d, d, dw, db};
  };
  v.push_back(rl);

  OpCase rms;
  rms.name = "rmsnorm/" + tag;
  rms.ins = {{{rows, C}}, {{C}}};
  rms.ref = [=](const std::vector<Buf>& in) {
    auto n = ref::norm(in[0], in[1], nullptr, eps, true);
    return std::vector<Buf>{n[0], n[2]};
  };
  rms.fwd = [=](const Tensors& t) -> Result<Tensors> {
    TRY_T(ops::NormOut o, ops::rmsnorm(t[0], t[1], eps));
    return Tensors{o.y, o.rstd};
  };
  rms.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    TRY_T(ops::NormOut o, ops::rmsnorm(t[0], t[1], eps));
    TRY_T(Tensor dw, zeros_like(t[1]));
    TRY_T(Tensor dx, ops::rmsnorm_backward(dy[0], t[0], t[1], o, &dw));
    return Tensors{dx, dw};
  };
  v.push_back(rms);
}

void add_elementwise(std::vector<OpCase>& v, Shape s) {
  std::string tag = lw::shape_to_string(s);
  for (bool tanh_form : {false, true}) {
    ops::Gelu kind = tanh_form ? ops::Gelu::kTanh : ops::Gelu::kErf;
    OpCase g;
    g.name = std::string("gelu_") + (tanh_form ? "tanh/" : "erf/") + tag;
    g.ins = {{s, In::kGrad, 0, 0, 2.0}};
    g.ref = [=](const std::vector<Buf>& in) {
      return std::vector<Buf>{ref::map(in[0], [&](double x) { return ref::gelu(x, tanh_form); })};
    };
    g.fwd = [=](const Tensors& t) -> Result<Tensors> {
      TRY_T(Tensor y, ops::gelu(t[0], kind));
      return Tensors{y};
    };
    g.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
      TRY_T(Tensor dx, ops::gelu_backward(dy[0], t[0], kind));
      return Tensors{dx};
    };
    v.push_back(g);

    OpCase bg;
    int64_t C = s.back();
    bg.name = std::string("bias_gelu_") + (tanh_form ? "tanh/" : "erf/") + tag;
    bg.ins = {{s, In::kGrad, 0, 0, 2.0}, {{C}}};
    bg.ref = [=](const std::vector<Buf>& in) {
      Buf y = in[0];
      for (int64_t i = 0; i < y.n(); ++i) y.v[i] = ref::gelu(in[0].v[i] + in[1].v[i % C], tanh_form);
      return std::vector<Buf>{y};
    };
    bg.fwd = [=](const Tensors& t) -> Result<Tensors> {
      TRY_T(Tensor y, ops::bias_gelu(t[0], t[1], kind));
      return Tensors{y};
    };
    bg.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
      TRY_T(Tensor db, zeros_like(t[1]));
      TRY_T(Tensor dx, ops::bias_gelu_backward(dy[0], t[0], t[1], kind, &db));
      return Tensors{dx, db};
    };
    v.push_back(bg);
  }
  OpCase si;
  si.name = "silu/" + tag;
  si.ins = {{s, In::kGrad, 0, 0, 2.0}};
  si.ref = [](const std::vector<Buf>& in) { return std::vector<Buf>{ref::map(in[0], ref::silu)}; };
  si.fwd = [](const Tensors& t) -> Result<Tensors> {
    TRY_T(Tensor y, ops::silu(t[0]));
    return Tensors{y};
  };
  si.bwd = [](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    TRY_T(Tensor dx, ops::silu_backward(dy[0], t[0]));
    return Tensors{dx};
  };
  v.push_back(si);

  OpCase sw;
  sw.name = "swiglu/" + tag;
  sw.ins = {{s, In::kGrad, 0, 0, 2.0}, {s}};
  sw.ref = [](const std::vector<Buf>& in) {
    Buf y = in[0];
    for (int64_t i = 0; i < y.n(); ++i) y.v[i] = ref::silu(in[0].v[i]) * in[1].v[i];
    return std::vector<Buf>{y};
  };
  sw.fwd = [](const Tensors& t) -> Result<Tensors> {
    TRY_T(Tensor y, ops::swiglu(t[0], t[1]));
    return Tensors{y};
  };
  sw.bwd = [](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    TRY_T(ops::SwigluGrads g, ops::swiglu_backward(dy[0], t[0], t[1]));
    return Tensors{g.dgate, g.dup};
  };
  v.push_back(sw);

  OpCase th;
  th.name = "tanh/" + tag;
  th.ins = {{s, In::kGrad, 0, 0, 1.5}};
  th.ref = [](const std::vector<Buf>& in) {
    return std::vector<Buf>{ref::map(in[0], [](double x) { return std::tanh(x); })};
  };
  th.fwd = [](const Tensors& t) -> Result<Tensors> {
    TRY_T(Tensor y, ops::tanh(t[0]));
    return Tensors{y};
  };
  th.bwd = [](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    TRY_T(Tensor y, ops::tanh(t[0]));
    TRY_T(Tensor dx, ops::tanh_backward(dy[0], y));
    return Tensors{dx};
  };
  v.push_back(th);

  OpCase ad;
  ad.name = "add/" + tag;
  ad.ins = {{s}, {s}};
  ad.ref = [](const std::vector<Buf>& in) {
    Buf y = in[0];
    for (int64_t i = 0; i < y.n(); ++i) y.v[i] += in[1].v[i];
    return std::vector<Buf>{y};
  };
  ad.fwd = [](const Tensors& t) -> Result<Tensors> {
    TRY_T(Tensor y, ops::add(t[0], t[1]));
    return Tensors{y};
  };
  ad.bwd = [](const Tensors& t, const Tensors& dy) -> Result<Tensors> { return Tensors{dy[0], dy[0]}; };
  v.push_back(ad);

  OpCase sm;
  sm.name = "softmax/" + tag;
  sm.narrow_grad_tol = 3.0;
  sm.ins = {{s, In::kGrad, 0, 0, 3.0}};
  sm.ref = [](const std::vector<Buf>& in) { return std::vector<Buf>{ref::softmax(in[0])}; };
  sm.fwd = [](const Tensors& t) -> Result<Tensors> {
    TRY_T(Tensor y, ops::softmax(t[0]));
    return Tensors{y};
  };
  sm.bwd = [](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    TRY_T(Tensor y, ops::softmax(t[0]));
    TRY_T(Tensor dx, ops::softmax_backward(dy[0], y));
    return Tensors{dx};
  };
  v.push_back(sm);

  OpCase dr;
  dr.name = "dropout/" + tag;
  dr.ins = {{s}};
  const float p = 0.3f;
  const uint64_t seed = 1234, offset = 77;
  dr.ref = [=](const std::vector<Buf>& in) { return std::vector<Buf>{ref::dropout(in[0], p, seed, offset)}; };
  dr.fwd = [=](const Tensors& t) -> Result<Tensors> {
    TRY_T(Tensor y, ops::dropout(t[0], p, seed, offset));
    return Tensors{y};
  };
  dr.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    TRY_T(Tensor dx, ops::dropout_backward(dy[0], p, seed, offset));
    return Tensors{dx};
  };
  v.push_back(dr);
}

struct AttnCfg {
  std::string tag;
  int B, NH, NKV, Tq, Tk, D;
  bool causal, mask;
};

void add_attention(std::vector<OpCase>& v, const AttnCfg& a) {
  OpCase c;
  c.name = "attention/" + a.tag;
  c.ins = {{{a.B, a.NH, a.Tq, a.D}}, {{a.B, a.NKV, a.Tk, a.D}}, {{a.B, a.NKV, a.Tk, a.D}}};
  if (a.mask) c.ins.push_back({{a.B, a.Tk}, In::kMask});
  ops::AttentionOptions opts;
  opts.causal = a.causal;
  opts.capture_probs = true;
  double scale = 1.0 / std::sqrt(static_cast<double>(a.D));
  bool mask = a.mask;
  c.ref = [=](const std::vector<Buf>& in) {
    return ref::attention(in[0], in[1], in[2], mask ? &in[3] : nullptr, opts.causal, scale);
  };
  c.fwd = [=](const Tensors& t) -> Result<Tensors> {
    TRY_T(ops::AttentionOut o, ops::attention(t[0], t[1], t[2], mask ? t[3] : Tensor(), opts));
    return Tensors{o.out, o.lse, o.probs};
  };
  c.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
    ops::AttentionOptions no_probs = opts;
    no_probs.capture_probs = false;
    Tensor m = mask ? t[3] : Tensor();
    TRY_T(ops::AttentionOut o, ops::attention(t[0], t[1], t[2], m, no_probs));
    TRY_T(ops::AttentionGrads g, ops::attention_backward(dy[0], t[0], t[1], t[2], o, m, no_probs));
    return Tensors{g.dq, g.dk, g.dv};
  };
  v.push_back(c);
}

void add_misc(std::vector<OpCase>& v) {
  for (Shape s : {Shape{1, 3, 1, 4}, Shape{2, 3, 5, 6}}) {
    OpCase tr;
    tr.name = "transpose12/" + lw::shape_to_string(s);
    tr.ins = {{s}};
    tr.ref = [](const std::vector<Buf>& in) { return std::vector<Buf>{ref::transpose12(in[0])}; };
    tr.fwd = [](const Tensors& t) -> Result<Tensors> {
      TRY_T(Tensor y, ops::transpose12(t[0]));
      return Tensors{y};
    };
    tr.bwd = [](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
      TRY_T(Tensor dx, ops::transpose12(dy[0]));
      return Tensors{dx};
    };
    v.push_back(tr);
  }
  for (bool pos : {false, true}) {
    OpCase r;
    const float theta = 10000.0f;
    Shape s{2, 3, 5, 8};
    r.name = std::string("rope/") + (pos ? "positions" : "default");
    r.ins = {{s}};
    if (pos) r.ins.push_back({{2, 5}, In::kInt, 0, 40});
    r.ref = [=](const std::vector<Buf>& in) {
      return std::vector<Buf>{ref::rope(in[0], pos ? &in[1] : nullptr, theta)};
    };
    r.fwd = [=](const Tensors& t) -> Result<Tensors> {
      TRY_T(Tensor y, ops::rope(t[0], pos ? t[1] : Tensor(), theta));
      return Tensors{y};
    };
    r.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
      TRY_T(Tensor dx, ops::rope_backward(dy[0], pos ? t[1] : Tensor(), theta));
      return Tensors{dx};
    };
    v.push_back(r);
  }
  for (auto [ids, V, C] : {std::tuple<Shape, int, int>{{1}, 3, 1}, {{2, 6}, 7, 5}, {{3, 4}, 50, 16}}) {
    OpCase e;
    e.name = "embedding/V" + std::to_string(V) + "_C" + std::to_string(C);
    e.ins = {{ids, In::kInt, 0, V}, {{V, C}}};
    e.ref = [](const std::vector<Buf>& in) { return std::vector<Buf>{ref::embedding(in[0], in[1])}; };
    e.fwd = [](const Tensors& t) -> Result<Tensors> {
      TRY_T(Tensor y, ops::embedding(t[0], t[1]));
      return Tensors{y};
    };
    e.bwd = [](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
      TRY_T(Tensor dt, zeros_like(t[1]));
      LW_TRY(ops::embedding_backward(dy[0], t[0], dt));
      return Tensors{dt};
    };
    v.push_back(e);
  }
  for (auto [N, V, smooth] : {std::tuple<int, int, float>{1, 2, 0.0f}, {7, 11, 0.0f}, {6, 33, 0.1f}}) {
    OpCase ce;
    ce.name = "cross_entropy/N" + std::to_string(N) + "_V" + std::to_string(V) +
              (smooth > 0 ? "_smooth" : "");
    ce.ins = {{{N, V}, In::kGrad, 0, 0, 2.0}, {{N}, In::kInt, 0, V}};
    ops::CrossEntropyOptions opts;
    opts.label_smoothing = smooth;
    ce.fixup = [=](std::vector<Buf>& in) {  // every third row after the first is ignored
      for (int r = 2; r < N; r += 3) in[1].v[r] = opts.ignore_index;
    };
    ce.ref = [=](const std::vector<Buf>& in) {
      return ref::cross_entropy(in[0], in[1], opts.ignore_index, smooth);
    };
    ce.fwd = [=](const Tensors& t) -> Result<Tensors> {
      TRY_T(ops::CrossEntropyOut o, ops::cross_entropy(t[0], t[1], opts));
      TRY_T(Tensor loss, Tensor::from_floats(std::vector<float>{o.loss}, {1}, DType::kF32, t[0].device()));
      return Tensors{loss, o.losses, o.lse};
    };
    ce.bwd = [=](const Tensors& t, const Tensors& dy) -> Result<Tensors> {
      TRY_T(ops::CrossEntropyOut o, ops::cross_entropy(t[0], t[1], opts));
      TRY_T(float g, dy[0].item());
      float scale = o.count ? g / static_cast<float>(o.count) : 0.0f;
      TRY_T(Tensor d, ops::cross_entropy_backward(t[0], t[1], o, opts, scale));
      return Tensors{d};
    };
    v.push_back(ce);
  }
  for (int t : {1, 7}) {
    OpCase ad;
    ad.name = "adamw/t" + std::to_string(t);
    Shape s{5, 9};
    ad.ins = {{s, In::kF32}, {s, In::kConst}, {s, In::kF32, 0, 0, 0.1}, {s, In::kF32Pos, 0, 0, 0.01}};
    ad.dtypes = {DType::kF32, DType::kBF16};
    ops::AdamWConfig cfg{1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f};
    ad.ref = [=](const std::vector<Buf>& in) {
      return ref::adamw(in[0], in[1], in[2], in[3], cfg.lr, cfg.beta1, cfg.beta2, cfg.eps,
                        cfg.weight_decay, t, 0.5);
    };
    ad.fwd = [=](const Tensors& in) -> Result<Tensors> {
      TRY_T(Tensor p, in[0].clone());
      TRY_T(Tensor m, in[2].clone());
      TRY_T(Tensor v, in[3].clone());
      LW_TRY(ops::adamw_step(p, in[1], m, v, cfg, t, 0.5f));
      return Tensors{p, m, v};
    };
    v.push_back(ad);
  }
  OpCase clip;
  clip.name = "clip_grad_norm";
  clip.ins = {{{3, 4}, In::kConst}, {{7}, In::kConst}, {{2, 2, 2}, In::kConst}};
  clip.ref = [](const std::vector<Buf>& in) {
    double ss = 0.0;
    for (const Buf& b : in)
      for (double x : b.v) ss += x * x;
    double norm = std::sqrt(ss), coef = std::min(1.0, 0.5 / (norm + 1e-6));
    std::vector<Buf> out{{{1}, {norm}}};
    for (const Buf& b : in) out.push_back(ref::map(b, [&](double x) { return x * coef; }));
    return out;
  };
  clip.fwd = [](const Tensors& in) -> Result<Tensors> {
    Tensors g;
    for (const Tensor& t : in) {
      TRY_T(Tensor c, t.clone());
      g.push_back(c);
    }
    TRY_T(double norm, ops::clip_grad_norm(g, 0.5f));
    TRY_T(Tensor n, Tensor::from_floats(std::vector<float>{static_cast<float>(norm)}, {1},
                                         DType::kF32, in[0].device()));
    g.insert(g.begin(), n);
    return g;
  };
  v.push_back(clip);

  OpCase cast;
  cast.name = "cast";
  cast.ins = {{{4, 33}, In::kConst, 0, 0, 100.0}};
  cast.dtypes = {DType::kF32};
  cast.ref = [](const std::vector<Buf>& in) {
    Buf b = ref::map(in[0], [](double x) { return double(lw::bf16_bits_to_f32(lw::f32_to_bf16_bits(float(x)))); });
    Buf h = ref::map(in[0], [](double x) { return double(lw::f16_bits_to_f32(lw::f32_to_f16_bits(float(x)))); });
    return std::vector<Buf>{b, h};
  };
  cast.fwd = [](const Tensors& in) -> Result<Tensors> {
    TRY_T(Tensor b, ops::cast(in[0], DType::kBF16));
    TRY_T(Tensor h, ops::cast(in[0], DType::kF16));
    return Tensors{b, h};
  };
  v.push_back(cast);
}

std::vector<OpCase> make_cases() {
  std::vector<OpCase> v;
  add_matmul(v, "1x1x1", {1, 1}, {1, 1}, false, false);
  add_matmul(v, "5x7_7x3", {5, 7}, {7, 3}, false, false);
  add_matmul(v, "tA", {7, 5}, {7, 3}, true, false);
  add_matmul(v, "tB", {5, 7}, {3, 7}, false, true);
  add_matmul(v, "tAtB", {7, 5}, {3, 7}, true, true);
  add_matmul(v, "batched", {2, 3, 4, 5}, {2, 3, 5, 6}, false, false);
  add_matmul(v, "batched_tB", {3, 4, 5}, {3, 6, 5}, false, true);
  add_matmul(v, "shared_b", {2, 3, 5}, {5, 4}, false, false);
  add_matmul(v, "shared_bT", {2, 3, 5}, {4, 5}, false, true);
  add_linear(v, "bias", {2, 3, 7}, 5, true, false);
  add_linear(v, "nobias_T1", {1, 1, 9}, 4, false, false);
  add_linear(v, "conv1d_kn", {3, 6}, 11, true, true);
  add_norms(v, 1, 1);
  add_norms(v, 3, 7);
  add_norms(v, 4, 64);
  // CUDA paths: warps walking several rows (fwd and bwd), a row of 97 packets (partly
  // filled register tiles), and the generic wide-row kernels.
  for (auto [rows, C] : {std::pair<int64_t, int>{9000, 64}, {600, 776}, {40, 2056}}) {
    const size_t first = v.size();
    add_norms(v, rows, C);
    for (size_t i = first; i < v.size(); ++i) v[i].large = true;
  }
  add_elementwise(v, {3, 5});
  add_elementwise(v, {1, 1, 17});
  add_attention(v, {"T1", 1, 1, 1, 1, 1, 4, false, false});
  add_attention(v, {"bidir_mask", 2, 2, 2, 5, 5, 8, false, true});
  add_attention(v, {"causal", 1, 3, 3, 6, 6, 4, true, false});
  add_attention(v, {"gqa_causal_mask", 2, 4, 2, 5, 5, 8, true, true});
  add_attention(v, {"mqa", 1, 4, 1, 3, 3, 6, false, false});
  add_attention(v, {"large_head_D128", 1, 2, 1, 3, 3, 128, true, false});
  add_attention(v, {"decode_Tq2_Tk6", 2, 2, 1, 2, 6, 8, true, true});
  add_misc(v);
  return v;
}

}  // namespace

const std::vector<OpCase>& cases() {
  static const std::vector<OpCase> all = make_cases();
  return all;
}

}  // namespace optest
