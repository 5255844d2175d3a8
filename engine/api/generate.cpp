// Playground facade (see generate.h): folder loading, EOS ids from the Hugging Face files,
// and thin wrappers over engine/generate.
#include "engine/api/generate.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/generate/utf8_stream.h"
#if LW_WITH_CUDA
#include "engine/backend/cuda/caching_allocator.h"
#endif

namespace lw::api {
namespace {

namespace fs = std::filesystem;

// eos_token_id of a JSON file: an int, a list of ints, or absent/null (empty result).
Result<std::vector<int32_t>> read_eos(const fs::path& path, bool* found) {
  *found = false;
  std::ifstream in(path);
  if (!in) return std::vector<int32_t>{};
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  LW_CHECK(!j.is_discarded(), path.string() + ": not valid JSON");
  std::vector<int32_t> ids;
  if (!j.is_object() || !j.contains("eos_token_id") || j["eos_token_id"].is_null()) return ids;
  const auto& e = j["eos_token_id"];
  auto take = [&](const nlohmann::json& v) -> Status {
    LW_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0,
             path.string() + ": eos_token_id must be a non-negative integer or a list of them");
    ids.push_back(v.get<int32_t>());
    return Status::ok();
  };
  if (e.is_array()) {
    for (const auto& v : e) LW_TRY(take(v));
  } else {
    LW_TRY(take(e));
  }
  *found = true;
  return ids;
}

}  // namespace

Result<std::unique_ptr<PlaygroundModel>> load_playground_model(const std::string& dir,
                                                               const PlaygroundLoadOptions& opts) {
#if LW_WITH_CUDA
  if (opts.device.type == DeviceType::kCuda) LW_TRY(cuda::init_backend());
#endif
  auto m = std::make_unique<PlaygroundModel>();
  m->dir = dir;
  LW_ASSIGN_OR_RETURN(m->model, models::load_model(dir, {opts.device, opts.dtype}));
  auto tok = load_tokenizer(dir);
  if (tok.is_ok()) {
    m->tokenizer = std::move(*tok);
  } else {
    m->tokenizer_error = tok.status().message();
  }
  bool found = false;
  LW_ASSIGN_OR_RETURN(m->eos_token_ids, read_eos(fs::path(dir) / "generation_config.json", &found));
  if (!found) {
    LW_ASSIGN_OR_RETURN(m->eos_token_ids, read_eos(fs::path(dir) / "config.json", &found));
  }
  if (!found && m->tokenizer && m->tokenizer->special_tokens().eos >= 0)
    m->eos_token_ids = {m->tokenizer->special_tokens().eos};
  return m;
}

Result<std::vector<int32_t>> encode_prompt(const PlaygroundModel& m, std::string_view text) {
  LW_TRY(check_utf8(text, "prompt"));
  if (!m.tokenizer)
    return not_found(m.dir + " has no tokenizer (tokenizer.json, vocab.json + merges.txt, "
                     "vocab.txt or tokenizer.model) to encode the prompt; give token ids "
                     "with --ids instead (" + m.tokenizer_error + ")");
  LW_ASSIGN_OR_RETURN(Encoding enc, m.tokenizer->encode(text, /*add_special_tokens=*/true));
  return enc.ids;
}

Result<GenerateResult> generate(PlaygroundModel& m, GenerateRequest request,
                                const GenerateCallbacks& callbacks) {
  if (request.eos_token_ids.empty()) request.eos_token_ids = m.eos_token_ids;
  return lw::generate(*m.model, m.tokenizer.get(), request, callbacks);
}

Result<std::vector<MaskPrediction>> fill_mask(PlaygroundModel& m, std::string_view text,
                                              int32_t top_k) {
  LW_TRY(check_utf8(text, "text"));
  if (!m.tokenizer)
    return not_found(m.dir + " has no tokenizer to encode the text (" + m.tokenizer_error + ")");
  return lw::fill_mask(*m.model, *m.tokenizer, text, top_k);
}

}  // namespace lw::api
