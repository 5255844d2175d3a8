// The playground facade (GUI and `llmwb generate` / `llmwb fill-mask`): load a Hugging Face
// folder with its tokenizer and end-of-sequence ids, then generate with streaming and cancel,
// or fill masks. Value types in, lw::Result out; no exception leaves this header's functions.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/generate/fill_mask.h"
#include "engine/generate/generator.h"
#include "engine/models/model.h"
#include "engine/tokenize/tokenizer.h"

namespace lw::api {

struct PlaygroundModel {
  std::string dir;
  std::unique_ptr<models::Model> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null when the folder has none
  std::string tokenizer_error;           // why tokenizer is null
  std::vector<int32_t> eos_token_ids;    // generation_config.json, else config.json, else tokenizer
};

struct PlaygroundLoadOptions {
  Device device = Device::cpu();
  DType dtype = DType::kF32;
};

// Loads weights and config (errors name the folder); a missing tokenizer is not an error
// here, only when text has to be encoded.
Result<std::unique_ptr<PlaygroundModel>> load_playground_model(const std::string& dir,
                                                               const PlaygroundLoadOptions& opts = {});

// Prompt text -> ids with the folder's tokenizer (special tokens as the model adds them).
// Errors: invalid UTF-8, or no tokenizer ("... has no tokenizer ...; use --ids").
Result<std::vector<int32_t>> encode_prompt(const PlaygroundModel& m, std::string_view text);

// Generates from `request` with the folder's EOS ids (when the request names none).
Result<GenerateResult> generate(PlaygroundModel& m, GenerateRequest request,
                                const GenerateCallbacks& callbacks = {});

// Fill-mask on text with [MASK] tokens (needs the tokenizer and a BertForMaskedLM folder).
Result<std::vector<MaskPrediction>> fill_mask(PlaygroundModel& m, std::string_view text,
                                              int32_t top_k);

}  // namespace lw::api
