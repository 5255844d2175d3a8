// LlamaConfig <-> config.json for the LLaMA family (see llama.h). Real checkpoints were
// written by many transformers releases: rope_theta sits at the top level (4.x) or inside
// rope_parameters (5.x); bare "n_embd"-style aliases are accepted where they are unambiguous.
#include <nlohmann/json.hpp>

#include "engine/models/llama.h"

namespace lw::models {
namespace {

// Only plain rotary embeddings are implemented; scaled variants would silently differ.
Status check_rope_type(const io::HfConfig& hf) {
  for (const char* field :
       {"rope_scaling.rope_type", "rope_scaling.type", "rope_parameters.rope_type"}) {
    LW_ASSIGN_OR_RETURN(std::string type, hf.get_string({field}, "default"));
    if (type != "default")
      return unsupported(hf.source() + ": field '" + field + "' = '" + type +
                         "': only the default rotary embedding is supported");
  }
  if (hf.count({"rope_scaling"}) > 0 && !hf.has({"rope_scaling.rope_type", "rope_scaling.type"}))
    return unsupported(hf.source() +
                       ": field 'rope_scaling' has no rope_type; only the default "
                       "rotary embedding is supported");
  return Status::ok();
}

Status read_sizes(const io::HfConfig& hf, LlamaConfig& c) {
  LW_ASSIGN_OR_RETURN(c.vocab_size, hf.get_int({"vocab_size"}, 1, 1 << 24));
  const int64_t default_positions = c.variant == LlamaVariant::kLlama ? 2048 : 32768;
  LW_ASSIGN_OR_RETURN(
      c.max_position_embeddings,
      hf.get_int({"max_position_embeddings", "n_positions"}, 1, 1 << 24, default_positions));
  LW_ASSIGN_OR_RETURN(c.hidden_size, hf.get_int({"hidden_size", "n_embd"}, 1, 1 << 16));
  LW_ASSIGN_OR_RETURN(c.intermediate_size,
                      hf.get_int({"intermediate_size", "n_inner"}, 1, 1 << 20));
  LW_ASSIGN_OR_RETURN(c.num_hidden_layers, hf.get_int({"num_hidden_layers", "n_layer"}, 1, 1024));
  LW_ASSIGN_OR_RETURN(c.num_attention_heads,
                      hf.get_int({"num_attention_heads", "n_head"}, 1, 1024));
  LW_ASSIGN_OR_RETURN(c.num_key_value_heads,
                      hf.get_int({"num_key_value_heads"}, 1, 1024, c.num_attention_heads));
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    return invalid_argument(
        hf.source() + ": num_attention_heads " + std::to_string(c.num_attention_heads) +
        " is not a multiple of num_key_value_heads " + std::to_string(c.num_key_value_heads));
  if (!hf.has({"head_dim"}) && c.hidden_size % c.num_attention_heads != 0)
    return invalid_argument(hf.source() + ": hidden_size " + std::to_string(c.hidden_size) +
                            " is not divisible by num_attention_heads " +
                            std::to_string(c.num_attention_heads) + " (and head_dim is absent)");
  LW_ASSIGN_OR_RETURN(c.head_dim,
                      hf.get_int({"head_dim"}, 2, 4096, c.hidden_size / c.num_attention_heads));
  if (c.head_dim % 2 != 0)
    return invalid_argument(hf.source() + ": head_dim " + std::to_string(c.head_dim) +
                            " must be even (rotary embeddings rotate pairs)");
  return Status::ok();
}

}  // namespace

Result<LlamaConfig> LlamaConfig::from_hf(const io::HfConfig& hf) {
  LlamaConfig c;
  const std::string arch = hf.architecture(), type = hf.model_type();
  if (arch == "MistralForCausalLM" || (arch.empty() && type == "mistral"))
    c.variant = LlamaVariant::kMistral;
  if (arch == "Qwen2ForCausalLM" || (arch.empty() && type == "qwen2"))
    c.variant = LlamaVariant::kQwen2;
  LW_TRY(read_sizes(hf, c));
  LW_ASSIGN_OR_RETURN(c.rms_norm_eps, hf.get_double({"rms_norm_eps"}, 0, 1, 1e-6));
  LW_ASSIGN_OR_RETURN(
      c.rope_theta, hf.get_double({"rope_theta", "rope_parameters.rope_theta"}, 1, 1e12, 10000.0));
  LW_TRY(check_rope_type(hf));
  LW_ASSIGN_OR_RETURN(std::string act, hf.get_string({"hidden_act", "hidden_activation"}, "silu"));
  if (act != "silu" && act != "swish")
    return unsupported(hf.source() + ": hidden_act '" + act + "' is not supported (silu)");
  LW_ASSIGN_OR_RETURN(bool attention_bias, hf.get_bool({"attention_bias"}, false));
  c.qkv_bias = c.variant == LlamaVariant::kQwen2 || attention_bias;
  c.o_bias = c.variant == LlamaVariant::kLlama && attention_bias;
  LW_ASSIGN_OR_RETURN(c.mlp_bias, hf.get_bool({"mlp_bias"}, false));
  LW_ASSIGN_OR_RETURN(c.tie_word_embeddings, hf.get_bool({"tie_word_embeddings"}, false));
  bool window = c.variant == LlamaVariant::kMistral;
  if (c.variant == LlamaVariant::kQwen2) {
    LW_ASSIGN_OR_RETURN(window, hf.get_bool({"use_sliding_window"}, false));
  }
  if (window) {
    LW_ASSIGN_OR_RETURN(c.sliding_window, hf.get_int({"sliding_window"}, 1, int64_t(1) << 40, 0));
  }
  LW_ASSIGN_OR_RETURN(c.attention_dropout, hf.get_double({"attention_dropout"}, 0, 0.999, 0.0));
  LW_ASSIGN_OR_RETURN(c.initializer_range, hf.get_double({"initializer_range"}, 0, 10, 0.02));
  c.source_json = hf.dump();
  return c;
}

std::string LlamaConfig::architecture() const {
  switch (variant) {
    case LlamaVariant::kMistral:
      return "MistralForCausalLM";
    case LlamaVariant::kQwen2:
      return "Qwen2ForCausalLM";
    case LlamaVariant::kLlama:
      break;
  }
  return "LlamaForCausalLM";
}

std::string LlamaConfig::model_type() const {
  switch (variant) {
    case LlamaVariant::kMistral:
      return "mistral";
    case LlamaVariant::kQwen2:
      return "qwen2";
    case LlamaVariant::kLlama:
      break;
  }
  return "llama";
}

std::string LlamaConfig::to_json() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!source_json.empty()) j = nlohmann::ordered_json::parse(source_json, nullptr, false);
  if (!j.is_object()) j = nlohmann::ordered_json::object();
  j["architectures"] = {architecture()};
  j["model_type"] = model_type();
  j["vocab_size"] = vocab_size;
  j["max_position_embeddings"] = max_position_embeddings;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["hidden_act"] = "silu";
  j["rms_norm_eps"] = rms_norm_eps;
  // Both spellings: transformers 4.x reads rope_theta, 5.x rope_parameters.
  j["rope_theta"] = rope_theta;
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", rope_theta}};
  j.erase("rope_scaling");
  if (variant == LlamaVariant::kLlama) {
    j["attention_bias"] = qkv_bias;
    j["mlp_bias"] = mlp_bias;
  }
  if (variant == LlamaVariant::kMistral)
    j["sliding_window"] =
        sliding_window > 0 ? nlohmann::ordered_json(sliding_window) : nlohmann::ordered_json();
  if (variant == LlamaVariant::kQwen2) {
    j["use_sliding_window"] = sliding_window > 0;
    if (sliding_window > 0) j["sliding_window"] = sliding_window;
  }
  j["attention_dropout"] = attention_dropout;
  j["initializer_range"] = initializer_range;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["dtype"] = "float32";
  if (j.contains("torch_dtype")) j["torch_dtype"] = "float32";
  return j.dump(2);
}

}  // namespace lw::models
