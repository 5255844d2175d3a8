// Prompt sources (see prompt_encoder.h): the plain table, PEFT's MLP encoder and the
// bidirectional LSTM encoder, each with an explicit host backward (BPTT for the LSTM).
// Letters: N virtual tokens (rows), C model width, H encoder hidden size.
#include "engine/train/prompt_encoder.h"

#include <cmath>

#include "engine/core/rng.h"

namespace lw::train {
namespace {

// y [N,out] = x [N,in] W^T + b.
void linear_fwd(const std::vector<float>& x, int64_t N, int64_t in, const HostParam& W,
                const HostParam& b, std::vector<float>& y) {
  const int64_t out = W.shape[0];
  y.assign(size_t(N * out), 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      float s = b.w[o];
      const float* wr = &W.w[o * in];
      const float* xr = &x[n * in];
      for (int64_t i = 0; i < in; ++i) s += wr[i] * xr[i];
      y[n * out + o] = s;
    }
}

// dW += dy^T x, db += sum dy; returns dx = dy W.
std::vector<float> linear_bwd(const std::vector<float>& dy, const std::vector<float>& x, int64_t N,
                              int64_t in, HostParam& W, HostParam& b) {
  const int64_t out = W.shape[0];
  std::vector<float> dx(size_t(N * in), 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      const float d = dy[n * out + o];
      if (d == 0.0f) continue;
      b.g[o] += d;
      for (int64_t i = 0; i < in; ++i) {
        W.g[o * in + i] += d * x[n * in + i];
        dx[n * in + i] += d * W.w[o * in + i];
      }
    }
  return dx;
}

void init_uniform(HostParam& p, float bound, PhiloxStream& rng) {
  for (auto& v : p.w) v = (2.0f * rng.uniform() - 1.0f) * bound;
}

// Inverted dropout mask (scale 1/(1-p) or 0); all ones when p == 0 or not training.
std::vector<float> dropout_mask(size_t n, float p, bool train, PhiloxStream& rng) {
  std::vector<float> m(n, 1.0f);
  if (!train || p <= 0.0f) return m;
  for (auto& v : m) v = rng.uniform() >= p ? 1.0f / (1.0f - p) : 0.0f;
  return m;
}

class TableSource final : public PromptSource {
 public:
  TableSource(int64_t rows, int64_t dim, std::vector<float> init) {
    rows_ = rows;
    dim_ = dim;
    add_param("embedding.weight", {rows, dim}).w = std::move(init);
  }
  EncoderType type() const override { return EncoderType::kNone; }
  Result<std::vector<float>> forward(bool, uint64_t) override { return params_[0].w; }
  Status backward(const std::vector<float>& dout) override {
    for (size_t i = 0; i < dout.size(); ++i) params_[0].g[i] += dout[i];
    return Status::ok();
  }
};

// embedding -> [Linear, ReLU, dropout] x layers -> Linear (PEFT: layers = 2, no dropout).
// Parameter names follow PEFT's nn.Sequential: Linear k is "mlp_head.{2k}".
class MlpSource final : public PromptSource {
 public:
  MlpSource(const EncoderConfig& cfg, int64_t rows, int64_t dim, std::vector<float> init,
            uint64_t seed)
      : cfg_(cfg) {
    rows_ = rows;
    dim_ = dim;
    add_param("embedding.weight", {rows, dim}).w = std::move(init);
    PhiloxStream rng(seed);
    int64_t in = dim;
    for (int64_t k = 0; k <= cfg.layers; ++k) {
      const int64_t out = k == cfg.layers ? dim : cfg.hidden;
      const std::string pre = "mlp_head." + std::to_string(2 * k);
      init_uniform(add_param(pre + ".weight", {out, in}), 1.0f / std::sqrt(float(in)), rng);
      init_uniform(add_param(pre + ".bias", {out}), 1.0f / std::sqrt(float(in)), rng);
      in = out;
    }
  }
  EncoderType type() const override { return EncoderType::kMlp; }

  Result<std::vector<float>> forward(bool train, uint64_t seed) override {
    PhiloxStream rng(seed);
    acts_.assign(1, params_[0].w);
    masks_.clear();
    int64_t in = dim_;
    for (int64_t k = 0; k <= cfg_.layers; ++k) {
      std::vector<float> y;
      linear_fwd(acts_.back(), rows_, in, params_[1 + 2 * k], params_[2 + 2 * k], y);
      in = params_[1 + 2 * k].shape[0];
      if (k < cfg_.layers) {
        masks_.push_back(dropout_mask(y.size(), cfg_.dropout, train, rng));
        for (size_t i = 0; i < y.size(); ++i) y[i] = std::max(y[i], 0.0f) * masks_.back()[i];
      }
      acts_.push_back(std::move(y));
    }
    return acts_.back();
  }

  Status backward(const std::vector<float>& dout) override {
    LW_CHECK(acts_.size() == size_t(cfg_.layers + 2), "prompt encoder backward without a forward");
    std::vector<float> d = dout;
    for (int64_t k = cfg_.layers; k >= 0; --k) {
      if (k < cfg_.layers) {  // through dropout and ReLU (act = relu(pre) * mask)
        const auto& a = acts_[k + 1];
        for (size_t i = 0; i < d.size(); ++i) d[i] = a[i] > 0.0f ? d[i] * masks_[k][i] : 0.0f;
      }
      const int64_t in = k == 0 ? dim_ : cfg_.hidden;
      d = linear_bwd(d, acts_[k], rows_, in, params_[1 + 2 * k], params_[2 + 2 * k]);
    }
    for (size_t i = 0; i < d.size(); ++i) params_[0].g[i] += d[i];
    return Status::ok();
  }

 private:
  EncoderConfig cfg_;
  std::vector<std::vector<float>> acts_;   // input, then each Linear's (activated) output
  std::vector<std::vector<float>> masks_;  // dropout masks of the hidden layers
};

// embedding -> bidirectional LSTM (layers, dropout between) -> Linear(2H,2H), ReLU,
// Linear(2H,C). PyTorch's gate order (i, f, g, o) and names (lstm_head.weight_ih_l0_reverse).
class LstmSource final : public PromptSource {
 public:
  LstmSource(const EncoderConfig& cfg, int64_t rows, int64_t dim, std::vector<float> init,
             uint64_t seed)
      : cfg_(cfg) {
    rows_ = rows;
    dim_ = dim;
    const int64_t H = cfg.hidden;
    add_param("embedding.weight", {rows, dim}).w = std::move(init);
    PhiloxStream rng(seed);
    const float kb = 1.0f / std::sqrt(float(H));
    for (int64_t l = 0; l < cfg.layers; ++l)
      for (int dir = 0; dir < 2; ++dir) {
        const std::string suf = "_l" + std::to_string(l) + (dir ? "_reverse" : "");
        const int64_t in = l == 0 ? dim : 2 * H;
        init_uniform(add_param("lstm_head.weight_ih" + suf, {4 * H, in}), kb, rng);
        init_uniform(add_param("lstm_head.weight_hh" + suf, {4 * H, H}), kb, rng);
        init_uniform(add_param("lstm_head.bias_ih" + suf, {4 * H}), kb, rng);
        init_uniform(add_param("lstm_head.bias_hh" + suf, {4 * H}), kb, rng);
      }
    const float k0 = 1.0f / std::sqrt(float(2 * H));
    init_uniform(add_param("mlp_head.0.weight", {2 * H, 2 * H}), k0, rng);
    init_uniform(add_param("mlp_head.0.bias", {2 * H}), k0, rng);
    init_uniform(add_param("mlp_head.2.weight", {dim, 2 * H}), k0, rng);
    init_uniform(add_param("mlp_head.2.bias", {dim}), k0, rng);
  }
  EncoderType type() const override { return EncoderType::kLstm; }

  Result<std::vector<float>> forward(bool train, uint64_t seed) override;
  Status backward(const std::vector<float>& dout) override;

 private:
  struct DirState {  // one direction of one layer, per time step (processing order = t)
    std::vector<float> gates;  // [N,4H] activated i, f, g, o
    std::vector<float> c, h;   // [N,H] cell and hidden after each step
  };
  HostParam& p(int64_t l, int dir, int which) { return params_[1 + (l * 2 + dir) * 4 + which]; }
  void run_direction(int64_t l, int dir, const std::vector<float>& x, int64_t in, DirState& s,
                     std::vector<float>& out);
  std::vector<float> back_direction(int64_t l, int dir, const std::vector<float>& x, int64_t in,
                                    const DirState& s, const std::vector<float>& dout);

  EncoderConfig cfg_;
  std::vector<std::vector<float>> layer_in_;  // input of each layer (after dropout)
  std::vector<std::vector<float>> masks_;     // dropout mask on each layer's input (l >= 1)
  std::vector<DirState> states_;              // [layer*2 + dir]
  std::vector<float> lstm_out_, hid_;         // [N,2H] last layer output, [N,2H] MLP hidden
  size_t head_ = 0;                           // index of mlp_head.0.weight
};

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

void LstmSource::run_direction(int64_t l, int dir, const std::vector<float>& x, int64_t in,
                               DirState& s, std::vector<float>& out) {
  const int64_t H = cfg_.hidden, N = rows_;
  HostParam &wi = p(l, dir, 0), &wh = p(l, dir, 1), &bi = p(l, dir, 2), &bh = p(l, dir, 3);
  s.gates.assign(size_t(N * 4 * H), 0.0f);
  s.c.assign(size_t(N * H), 0.0f);
  s.h.assign(size_t(N * H), 0.0f);
  std::vector<float> h(size_t(H), 0.0f), c(size_t(H), 0.0f), a(size_t(4 * H));
  for (int64_t step = 0; step < N; ++step) {
    const int64_t t = dir ? N - 1 - step : step;
    for (int64_t r = 0; r < 4 * H; ++r) {
      float v = bi.w[r] + bh.w[r];
      for (int64_t i = 0; i < in; ++i) v += wi.w[r * in + i] * x[t * in + i];
      for (int64_t j = 0; j < H; ++j) v += wh.w[r * H + j] * h[j];
      a[r] = v;
    }
    float* g = &s.gates[step * 4 * H];
    for (int64_t j = 0; j < H; ++j) {
      g[j] = sigmoid(a[j]);
      g[H + j] = sigmoid(a[H + j]);
      g[2 * H + j] = std::tanh(a[2 * H + j]);
      g[3 * H + j] = sigmoid(a[3 * H + j]);
      c[j] = g[H + j] * c[j] + g[j] * g[2 * H + j];
      h[j] = g[3 * H + j] * std::tanh(c[j]);
      s.c[step * H + j] = c[j];
      s.h[step * H + j] = h[j];
      out[t * 2 * H + dir * H + j] = h[j];
    }
  }
}

std::vector<float> LstmSource::back_direction(int64_t l, int dir, const std::vector<float>& x,
                                              int64_t in, const DirState& s,
                                              const std::vector<float>& dout) {
  const int64_t H = cfg_.hidden, N = rows_;
  HostParam &wi = p(l, dir, 0), &wh = p(l, dir, 1), &bi = p(l, dir, 2), &bh = p(l, dir, 3);
  std::vector<float> dx(size_t(N * in), 0.0f), dh(size_t(H), 0.0f), dc(size_t(H), 0.0f),
      da(size_t(4 * H));
  for (int64_t step = N - 1; step >= 0; --step) {
    const int64_t t = dir ? N - 1 - step : step;
    const float* g = &s.gates[step * 4 * H];
    for (int64_t j = 0; j < H; ++j) {
      const float c = s.c[step * H + j], c_prev = step > 0 ? s.c[(step - 1) * H + j] : 0.0f;
      const float tc = std::tanh(c);
      const float dhj = dh[j] + dout[t * 2 * H + dir * H + j];
      const float dcj = dc[j] + dhj * g[3 * H + j] * (1.0f - tc * tc);
      da[j] = dcj * g[2 * H + j] * g[j] * (1.0f - g[j]);
      da[H + j] = dcj * c_prev * g[H + j] * (1.0f - g[H + j]);
      da[2 * H + j] = dcj * g[j] * (1.0f - g[2 * H + j] * g[2 * H + j]);
      da[3 * H + j] = dhj * tc * g[3 * H + j] * (1.0f - g[3 * H + j]);
      dc[j] = dcj * g[H + j];
    }
    std::fill(dh.begin(), dh.end(), 0.0f);
    for (int64_t r = 0; r < 4 * H; ++r) {
      const float d = da[r];
      bi.g[r] += d;
      bh.g[r] += d;
      for (int64_t i = 0; i < in; ++i) {
        wi.g[r * in + i] += d * x[t * in + i];
        dx[t * in + i] += d * wi.w[r * in + i];
      }
      if (step > 0)
        for (int64_t j = 0; j < H; ++j) {
          wh.g[r * H + j] += d * s.h[(step - 1) * H + j];
          dh[j] += d * wh.w[r * H + j];
        }
    }
  }
  return dx;
}

Result<std::vector<float>> LstmSource::forward(bool train, uint64_t seed) {
  const int64_t H = cfg_.hidden, N = rows_;
  PhiloxStream rng(seed);
  layer_in_.assign(1, params_[0].w);
  masks_.assign(1, {});
  states_.assign(size_t(2 * cfg_.layers), {});
  for (int64_t l = 0; l < cfg_.layers; ++l) {
    const int64_t in = l == 0 ? dim_ : 2 * H;
    std::vector<float> out(size_t(N * 2 * H), 0.0f);
    for (int dir = 0; dir < 2; ++dir) run_direction(l, dir, layer_in_[l], in, states_[2 * l + dir], out);
    if (l + 1 < cfg_.layers) {
      masks_.push_back(dropout_mask(out.size(), cfg_.dropout, train, rng));
      for (size_t i = 0; i < out.size(); ++i) out[i] *= masks_.back()[i];
      layer_in_.push_back(std::move(out));
    } else {
      lstm_out_ = std::move(out);
    }
  }
  head_ = size_t(1 + cfg_.layers * 8);
  std::vector<float> y;
  linear_fwd(lstm_out_, N, 2 * H, params_[head_], params_[head_ + 1], hid_);
  for (auto& v : hid_) v = std::max(v, 0.0f);
  linear_fwd(hid_, N, 2 * H, params_[head_ + 2], params_[head_ + 3], y);
  return y;
}

Status LstmSource::backward(const std::vector<float>& dout) {
  LW_CHECK(!lstm_out_.empty(), "prompt encoder backward without a forward");
  const int64_t H = cfg_.hidden;
  std::vector<float> d = linear_bwd(dout, hid_, rows_, 2 * H, params_[head_ + 2], params_[head_ + 3]);
  for (size_t i = 0; i < d.size(); ++i) d[i] = hid_[i] > 0.0f ? d[i] : 0.0f;
  d = linear_bwd(d, lstm_out_, rows_, 2 * H, params_[head_], params_[head_ + 1]);
  for (int64_t l = cfg_.layers - 1; l >= 0; --l) {
    const int64_t in = l == 0 ? dim_ : 2 * H;
    std::vector<float> dx(size_t(rows_ * in), 0.0f);
    for (int dir = 0; dir < 2; ++dir) {
      auto part = back_direction(l, dir, layer_in_[l], in, states_[2 * l + dir], d);
      for (size_t i = 0; i < dx.size(); ++i) dx[i] += part[i];
    }
    if (l > 0)
      for (size_t i = 0; i < dx.size(); ++i) dx[i] *= masks_[l][i];
    d = std::move(dx);
  }
  for (size_t i = 0; i < d.size(); ++i) params_[0].g[i] += d[i];
  return Status::ok();
}

}  // namespace

const char* encoder_type_name(EncoderType t) {
  switch (t) {
    case EncoderType::kNone: return "none";
    case EncoderType::kMlp: return "mlp";
    case EncoderType::kLstm: return "lstm";
  }
  return "?";
}

HostParam& PromptSource::add_param(std::string name, std::vector<int64_t> shape) {
  HostParam p;
  p.name = std::move(name);
  p.shape = std::move(shape);
  int64_t n = 1;
  for (int64_t s : p.shape) n *= s;
  p.w.assign(size_t(n), 0.0f);
  p.g.assign(size_t(n), 0.0f);
  p.m.assign(size_t(n), 0.0f);
  p.v.assign(size_t(n), 0.0f);
  params_.push_back(std::move(p));
  return params_.back();
}

void PromptSource::zero_grad() {
  for (auto& p : params_) std::fill(p.g.begin(), p.g.end(), 0.0f);
}

Status PromptSource::load_state(const std::map<std::string, std::vector<float>>& state,
                                const std::string& source) {
  for (auto& p : params_) {
    auto it = state.find(p.name);
    if (it == state.end()) continue;
    LW_CHECK(it->second.size() == p.w.size(),
             source + ": '" + p.name + "' has " + std::to_string(it->second.size()) +
                 " values, the encoder expects " + std::to_string(p.w.size()));
    p.w = it->second;
  }
  return Status::ok();
}

Result<std::unique_ptr<PromptSource>> make_prompt_source(const EncoderConfig& cfg, int64_t rows,
                                                         int64_t dim, std::vector<float> init,
                                                         uint64_t seed) {
  LW_CHECK(rows >= 1 && dim >= 1 && int64_t(init.size()) == rows * dim,
           "prompt source: init must be [" + std::to_string(rows) + "," + std::to_string(dim) + "]");
  EncoderConfig c = cfg;
  if (c.hidden <= 0) c.hidden = dim;
  LW_CHECK(c.dropout >= 0.0f && c.dropout < 1.0f, "encoder dropout must be in [0, 1)");
  switch (c.type) {
    case EncoderType::kNone:
      return std::unique_ptr<PromptSource>(new TableSource(rows, dim, std::move(init)));
    case EncoderType::kMlp:
      LW_CHECK(c.layers >= 2 && c.layers <= 16, "the MLP prompt encoder needs 2-16 hidden layers, got " +
                                                    std::to_string(c.layers));
      return std::unique_ptr<PromptSource>(new MlpSource(c, rows, dim, std::move(init), seed));
    case EncoderType::kLstm:
      LW_CHECK(c.layers >= 1 && c.layers <= 8, "the LSTM prompt encoder needs 1-8 layers, got " +
                                                   std::to_string(c.layers));
      return std::unique_ptr<PromptSource>(new LstmSource(c, rows, dim, std::move(init), seed));
  }
  return invalid_argument("unknown prompt encoder type");
}

void HostAdamW::step(std::vector<HostParam*>& params, float lr_now) {
  ++t;
  const float bc1 = 1.0f - std::pow(beta1, float(t));
  const float bc2_sqrt = std::sqrt(1.0f - std::pow(beta2, float(t)));
  const float step_size = lr_now / bc1;
  for (HostParam* p : params)
    for (size_t i = 0; i < p->w.size(); ++i) {
      p->w[i] *= 1.0f - lr_now * weight_decay;
      p->m[i] = beta1 * p->m[i] + (1.0f - beta1) * p->g[i];
      p->v[i] = beta2 * p->v[i] + (1.0f - beta2) * p->g[i] * p->g[i];
      p->w[i] -= step_size * p->m[i] / (std::sqrt(p->v[i]) / bc2_sqrt + eps);
    }
}

float warmup_cosine_lr(float base, int64_t step, int64_t warmup, int64_t total) {
  if (warmup == 0 && total == 0) return base;
  if (step < warmup) return base * float(step) / float(warmup);  // transformers' schedule
  if (total <= warmup) return base;
  const double progress = double(step - warmup) / double(total - warmup);
  return float(base * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress))));
}

}  // namespace lw::train
