// The GPT family: GPT-2 (GPT2LMHeadModel / GPT2Model) from its config; a pre-norm decoder
// with learned positions, fused qkv (Conv1D, stored transposed by Hugging Face) and tanh GELU.
// LLaMA-family decoders (RMSNorm, RoPE, SwiGLU, grouped-query attention) live in llama.h;
// both share the blocks in blocks.h and the KV-cache interface of model.h.
#pragma once
#include <memory>

#include "engine/io/hf_config.h"
#include "engine/models/model.h"
#include "engine/ops/ops.h"

namespace lw::models {

struct GptConfig {
  int64_t vocab_size = 50257;   // V
  int64_t n_positions = 1024;   // P: longest sequence
  int64_t n_embd = 768;         // C
  int64_t n_layer = 12;         // L
  int64_t n_head = 12;          // NH; head size D = C / NH
  int64_t n_inner = 0;          // F: MLP width (0 = 4 C)
  double layer_norm_epsilon = 1e-5;
  ops::Gelu activation = ops::Gelu::kTanh;  // "gelu_new"; "gelu" = erf
  double resid_pdrop = 0.1, embd_pdrop = 0.1, attn_pdrop = 0.1;
  bool tie_word_embeddings = true;
  double initializer_range = 0.02;

  int64_t ffn() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
  // Reads config.json (both old and new transformers spellings); sizes are range-checked.
  static Result<GptConfig> from_hf(const io::HfConfig& hf);
  std::string to_json(const std::string& architecture) const;
};

Result<std::unique_ptr<Model>> make_gpt(const GptConfig& cfg, Head head, Device device,
                                        DType dtype);

}  // namespace lw::models
