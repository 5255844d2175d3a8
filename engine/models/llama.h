// The LLaMA family: LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM, one decoder
// that differs only by config: RMSNorm, rotary embeddings (rope_theta), a SwiGLU MLP,
// grouped-query attention (num_key_value_heads), q/k/v biases (Qwen2, or attention_bias)
// and tied or untied embeddings.
#pragma once
#include <memory>
#include <string>

#include "engine/io/hf_config.h"
#include "engine/models/model.h"

namespace lw::models {

enum class LlamaVariant { kLlama, kMistral, kQwen2 };

struct LlamaConfig {
  LlamaVariant variant = LlamaVariant::kLlama;
  int64_t vocab_size = 32000;              // V
  int64_t max_position_embeddings = 2048;  // P: longest sequence
  int64_t hidden_size = 4096;              // C
  int64_t intermediate_size = 11008;       // F: SwiGLU width
  int64_t num_hidden_layers = 32;          // L
  int64_t num_attention_heads = 32;        // NH
  int64_t num_key_value_heads = 32;        // NKV (NH % NKV == 0)
  int64_t head_dim = 128;                  // D (C / NH unless the config says otherwise)
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool qkv_bias = false;  // Qwen2 always; LLaMA with attention_bias
  bool o_bias = false;    // LLaMA with attention_bias
  bool mlp_bias = false;  // LLaMA mlp_bias
  bool tie_word_embeddings = false;
  int64_t sliding_window = 0;  // 0 = none; longer inputs are refused (no windowed kernel)
  double attention_dropout = 0.0;
  double initializer_range = 0.02;
  // The config.json it was read from: to_json() keeps the fields we do not interpret
  // (token ids, eos lists, generation settings) so a saved folder loses nothing.
  std::string source_json;

  // Reads config.json (old and new transformers spellings: rope_theta at the top level or in
  // rope_parameters; rope scaling other than "default" is refused); sizes are range-checked.
  static Result<LlamaConfig> from_hf(const io::HfConfig& hf);
  std::string to_json() const;
  std::string architecture() const;  // "LlamaForCausalLM", ...
  std::string model_type() const;    // "llama", "mistral", "qwen2"
};

// True for the architectures / model types this file handles.
bool is_llama_family(const std::string& architecture, const std::string& model_type);

Result<std::unique_ptr<Model>> make_llama(const LlamaConfig& cfg, Device device, DType dtype);

}  // namespace lw::models
