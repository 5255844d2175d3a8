// The model interface shared by the architecture families (bert.cpp, gpt.cpp). A family
// declares ONE table of its tensors (our name, shape, role, Hugging Face name, transposed on
// load); the table drives allocation, checkpoint loading and saving, gradients, optimizer
// state and parameter counts, so nothing else lists a model's tensors. Forward and backward
// are written with ops:: calls only; named capture points hand out attention probabilities.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/core/tensor.h"

namespace lw::io {
class Checkpoint;
class HfConfig;
}  // namespace lw::io

namespace lw::models {

// What a tensor is for: optimizers and the inspector group by it.
enum class Role { kEmbedding, kWeight, kBias, kNormWeight, kNormBias };
const char* role_name(Role r);

struct ParamSpec {
  std::string name;      // ours: "h.0.attn.qkv.w"
  Shape shape;           // ours (Linear weights are [out, in], as nn.Linear)
  Role role;
  // Hugging Face names to try on load, the first is written on save ("" = not saved: tied).
  std::vector<std::string> hf_names;
  bool transposed = false;  // HF stores it [in, out] (GPT-2's Conv1D)
};

struct Param {
  ParamSpec spec;
  Tensor value;   // compute dtype, on the model's device
  Tensor master;  // f32 master copy when the compute dtype is narrower; else undefined
  Tensor grad;    // compute dtype, allocated by alloc_grads()
  // The f32 tensor the optimizer updates.
  Tensor& weights() { return master.defined() ? master : value; }
};

// Which head sits on top of the trunk; it fixes the loss.
enum class Head { kNone, kCausalLm, kSequenceClassification, kMaskedLm, kTokenClassification };
const char* head_name(Head h);

// One batch on the model's device. input_ids [B,T] i32; attention_mask [B,T] i32 (1 = token,
// 0 = padding) or undefined; labels [B,T] i32 (-100 = ignore; causal-lm labels are aligned with
// input_ids and shifted inside, as transformers does) or [B] for sequence classification.
struct Batch {
  Tensor input_ids;
  Tensor attention_mask;
  Tensor labels;
  Tensor token_type_ids;  // [B,T] i32 or undefined (all 0); BERT only
  // [B,T,C] in the model's dtype, or undefined. When defined it replaces the token-embedding
  // lookup (prompt tuning: virtual tokens are rows no vocabulary id gives) and input_ids may
  // be undefined (labels stay [B,T]); GPT-2 still adds its position embeddings. Decoders only.
  Tensor inputs_embeds;
};

struct ForwardOptions {
  bool capture_attention = false;  // fill ForwardResult::attn_probs
  // With capture_attention: the layers to capture (empty = all). The others keep the fused
  // attention path (no probabilities materialized) and leave an undefined tensor in attn_probs.
  std::vector<int64_t> capture_layers;
  bool captures(int64_t layer) const;
  bool keep_activations = false;   // needed by a following backward()
  float dropout = -1.0f;           // >= 0 overrides the config's dropout probabilities
  uint64_t dropout_seed = 0;
};

struct ForwardResult {
  Tensor logits;       // [B,T,V], or [B,num_labels]; undefined for Head::kNone
  Tensor last_hidden;  // [B,T,C]: hidden_states[-1] as transformers returns it
  // Capture point "attn_probs": per layer [B,NH,T,T] f32 (undefined where not captured).
  std::vector<Tensor> attn_probs;
  float loss = 0.0f;   // when the batch has labels
  bool has_loss = false;
  // [3] f32 on the model's device, {loss, counted rows, 1/count} (ops::CrossEntropyOut::stats).
  // Under ops::DeferredChecks or a CUDA-graph capture `loss` is NaN: read this with
  // ops::read_loss after the step.
  Tensor loss_stats;
};

// Incremental decoding (engine/generate's KvCache): what one sequence's cache holds.
struct KvLayout {
  int64_t n_layer = 0;
  int64_t n_kv_head = 0;      // NKV (< NH for grouped-query attention)
  int64_t head_dim = 0;       // D
  int64_t max_positions = 0;  // the longest sequence the model takes
};
// One layer's keys and values for ONE sequence, rows = positions: [P, NKV*D] each, the
// model's device and dtype. Row-major by position so rows [0, n) are a contiguous view.
struct KvLayer {
  Tensor k, v;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string family() const = 0;        // "gpt2", "bert"
  virtual std::string architecture() const = 0;  // "GPT2LMHeadModel", ...
  virtual Head head() const = 0;
  // config.json text for a Hugging Face compatible folder.
  virtual std::string config_json() const = 0;

  // Runs the model; with labels in the batch also the head's loss.
  virtual Result<ForwardResult> forward(const Batch& batch, const ForwardOptions& opts) = 0;
  // Backpropagates the loss of the last forward (keep_activations) into the params' grads
  // (accumulating), then drops the activations.
  virtual Status backward() = 0;
  // Backpropagates the loss of the last forward (keep_activations) with the weights FROZEN:
  // no weight-gradient GEMM runs and no gradient is allocated. Returns d loss / d embeddings
  // [B,T,C]: the gradient w.r.t. Batch::inputs_embeds (or the looked-up token embeddings).
  // Prompt tuning trains only those rows. Drops the activations.
  virtual Result<Tensor> backward_inputs() {
    return unsupported(architecture() + " has no frozen (input-gradient) backward");
  }

  // The cache layout forward_cached() needs; kUnsupported for models without one (encoders).
  virtual Result<KvLayout> kv_layout() const {
    return unsupported(architecture() + " has no incremental (KV-cache) forward");
  }
  // One sequence: ids [1,T] i32 at positions past..past+T-1. Writes their keys and values into
  // rows [past, past+T) of `cache` (kv_layout().n_layer layers), attends to rows [0, past+T)
  // and returns the logits of the LAST position only, [1,V] (prefill needs no others).
  virtual Result<Tensor> forward_cached(const Tensor& ids, int64_t past, std::vector<KvLayer>& cache) {
    return unsupported(architecture() + " has no incremental (KV-cache) forward");
  }

  // forward_cached() with the inputs' embeddings given, embeds [1,T,C] in the model's dtype
  // (prefill of a prompt with virtual tokens); GPT-2 adds the position embeddings.
  virtual Result<Tensor> forward_cached_embeds(const Tensor& embeds, int64_t past,
                                               std::vector<KvLayer>& cache) {
    return unsupported(architecture() + " has no incremental (KV-cache) forward");
  }

  std::vector<Param>& params() { return params_; }
  const std::vector<Param>& params() const { return params_; }
  Param* find(const std::string& name);
  int64_t num_parameters() const;
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }

  Status alloc_grads();
  Status zero_grads();
  // Fills every parameter from a checkpoint (converting dtypes, transposing where flagged).
  Status load(const io::Checkpoint& ckpt);
  // Writes the folder `dir` (config.json + model.safetensors, f32, Hugging Face names) as a
  // whole: a crash leaves the old folder or the new one (io::write_folder_atomic).
  Status save(const std::string& dir) const;
  // The same two files into an existing folder (for callers that assemble a larger folder).
  Status save_into(const std::string& dir) const;
  // Copies the f32 master weights into the compute-dtype values (after an optimizer step).
  Status sync_values();

 protected:
  // Allocates zero-filled parameters for `specs` on `device` in `dtype`.
  Status init_params(std::vector<ParamSpec> specs, Device device, DType dtype);
  Param& p(size_t i) { return params_[i]; }

  std::vector<Param> params_;
  Device device_ = Device::cpu();
  DType dtype_ = DType::kF32;
  // Every gradient is a view into this one buffer (alloc_grads), so zero_grads is one fill.
  Tensor grad_flat_;
};

struct LoadOptions {
  Device device = Device::cpu();
  DType dtype = DType::kF32;  // compute dtype; f32 masters are kept for bf16/f16
};

// Loads a Hugging Face folder: config.json picks the family and head, the checkpoint
// (single or sharded) gives the weights.
Result<std::unique_ptr<Model>> load_model(const std::string& dir, const LoadOptions& opts = {});
// Builds a model from a config alone (weights zero); `hf_config_path` names it in errors.
Result<std::unique_ptr<Model>> create_model(const io::HfConfig& config, const LoadOptions& opts);

}  // namespace lw::models
