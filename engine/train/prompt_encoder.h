// Where a task's virtual-token embeddings come from while it trains: a plain table (prompt
// tuning) or a prompt encoder (p-tuning: an MLP, or a bidirectional LSTM + MLP head as in
// P-tuning v1 / PEFT's PromptEncoder) that is materialized into a table after training.
// These are parameter-sized ([n_virtual, C]), not batch-sized, so they run on the host in f32
// with explicit backward passes; their parameter names are PEFT's, so a PEFT state dict (the
// golden files) loads as it is.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace lw::train {

// One host parameter with its gradient and AdamW moments.
struct HostParam {
  std::string name;            // PEFT's: "embedding.weight", "mlp_head.0.weight", ...
  std::vector<int64_t> shape;
  std::vector<float> w, g, m, v;
  int64_t numel() const { return int64_t(w.size()); }
};

enum class EncoderType { kNone, kMlp, kLstm };  // kNone = prompt tuning (a plain table)
const char* encoder_type_name(EncoderType t);   // "none", "mlp", "lstm"

struct EncoderConfig {
  EncoderType type = EncoderType::kNone;
  int64_t hidden = 0;    // H (0 = the model's hidden size)
  int64_t layers = 2;    // MLP: hidden layers (PEFT: 2); LSTM: stacked layers
  float dropout = 0.0f;  // MLP: after each hidden ReLU; LSTM: between layers
};

class PromptSource {
 public:
  virtual ~PromptSource() = default;
  // The virtual-token embeddings [rows, dim]; train applies dropout drawn from `seed`.
  virtual Result<std::vector<float>> forward(bool train, uint64_t seed) = 0;
  // Accumulates parameter gradients from d loss / d output [rows, dim] of the last forward.
  virtual Status backward(const std::vector<float>& dout) = 0;
  virtual EncoderType type() const = 0;
  std::vector<HostParam>& params() { return params_; }
  int64_t rows() const { return rows_; }
  int64_t dim() const { return dim_; }
  // Sets parameters by name (sizes checked); names not given keep their values.
  Status load_state(const std::map<std::string, std::vector<float>>& state, const std::string& source);
  void zero_grad();

 protected:
  HostParam& add_param(std::string name, std::vector<int64_t> shape);
  std::vector<HostParam> params_;
  int64_t rows_ = 0, dim_ = 0;
};

// A task's source: `init` [rows, dim] is the table (prompt tuning) or the encoder's input
// embedding (p-tuning, as PEFT's PromptEncoder.embedding); encoder weights start as
// PyTorch's defaults (uniform +-1/sqrt(fan_in)) drawn from `seed`.
Result<std::unique_ptr<PromptSource>> make_prompt_source(const EncoderConfig& cfg, int64_t rows,
                                                         int64_t dim, std::vector<float> init,
                                                         uint64_t seed);

// torch.optim.AdamW on host parameters (decoupled weight decay, bias correction, f32).
struct HostAdamW {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.01f;
  int t = 0;
  // One step with learning rate `lr_now` over every parameter's gradient.
  void step(std::vector<HostParam*>& params, float lr_now);
};

// transformers' get_cosine_schedule_with_warmup: lr * step/warmup, then cosine decay to 0 at
// `total` steps; warmup = total = 0 gives a constant rate.
float warmup_cosine_lr(float base, int64_t step, int64_t warmup, int64_t total);

}  // namespace lw::train
