// Attention facade (see attention.h): shape facts from config.json, token labels from the
// tokenizer, the memory check, one capturing forward, head selection and the derived views.
#include "engine/api/attention.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>

#include "engine/analysis/attention_memory.h"
#include "engine/io/hf_config.h"

namespace lw::api {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

// What a person reads on an axis: byte-level BPE pieces decoded ("Ġhello" -> " hello"),
// SentencePiece's word marker as a space, WordPiece pieces as they are ("##ing").
std::string token_label(const Tokenizer* tok, int32_t id) {
  if (!tok) return "#" + std::to_string(id);
  if (tok->kind() == TokenizerKind::kByteLevelBpe) {
    auto text = tok->decode({id}, /*skip_special_tokens=*/false);
    if (text.is_ok()) return *text;
  }
  auto piece = tok->id_to_token(id);
  if (!piece) return "#" + std::to_string(id);
  if (tok->kind() == TokenizerKind::kSentencePiece || tok->kind() == TokenizerKind::kBpe)
    return replace_all(*piece, "\xE2\x96\x81", " ");
  return *piece;
}

// Checks a list of indices against [0, n) and fills `out` (all of them when `in` is empty).
Status select_indices(const std::vector<int64_t>& in, int64_t n, const char* what,
                      std::vector<int64_t>* out) {
  out->clear();
  if (in.empty()) {
    for (int64_t i = 0; i < n; ++i) out->push_back(i);
    return Status::ok();
  }
  for (int64_t i : in) {
    LW_CHECK(i >= 0 && i < n, std::string(what) + " " + std::to_string(i) +
                                  " is out of range: the model has " + std::to_string(n) + " " +
                                  what + "s (0-" + std::to_string(n - 1) + ")");
    out->push_back(i);
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return Status::ok();
}

// Ids, validity and types of the request, checked against each other and the model.
Status fill_tokens(const AttentionModel& m, const AttentionRequest& req, AttentionCapture* c,
                   std::vector<int32_t>* types) {
  if (!req.ids.empty()) {
    c->ids = req.ids;
    LW_CHECK(req.key_valid.empty() || req.key_valid.size() == req.ids.size(),
             "attention mask has " + std::to_string(req.key_valid.size()) + " entries for " +
                 std::to_string(req.ids.size()) + " token ids");
    LW_CHECK(req.token_type_ids.empty() || req.token_type_ids.size() == req.ids.size(),
             "token type ids have " + std::to_string(req.token_type_ids.size()) + " entries for " +
                 std::to_string(req.ids.size()) + " token ids");
    c->key_valid = req.key_valid;
    *types = req.token_type_ids;
  } else {
    LW_CHECK(!req.text.empty(), "the text is empty: give some text or token ids");
    LW_ASSIGN_OR_RETURN(c->ids, encode_prompt(*m.pm, req.text));
    LW_CHECK(!c->ids.empty(), "the text encodes to no tokens");
  }
  c->n_tok = int64_t(c->ids.size());
  if (c->key_valid.empty()) c->key_valid.assign(c->ids.size(), 1);
  LW_CHECK(std::find(c->key_valid.begin(), c->key_valid.end(), 1) != c->key_valid.end(),
           "the attention mask marks every token as padding");
  LW_CHECK(c->n_tok <= m.max_positions, "the input has " + std::to_string(c->n_tok) + " tokens; " +
                                            m.architecture + " takes at most " +
                                            std::to_string(m.max_positions));
  const Tokenizer* tok = m.pm->tokenizer.get();
  for (int32_t id : c->ids) {
    c->tokens.push_back(token_label(tok, id));
    bool special;
    if (!req.special_ids.empty())
      special =
          std::find(req.special_ids.begin(), req.special_ids.end(), id) != req.special_ids.end();
    else if (tok)
      special = tok->is_special(id);
    else
      special = std::find(m.config_special_ids.begin(), m.config_special_ids.end(), id) !=
                m.config_special_ids.end();
    c->special.push_back(special ? 1 : 0);
  }
  return Status::ok();
}

Status check_memory(const AttentionModel& m, AttentionCapture* c, uint64_t budget) {
  // The model materializes every head of a captured layer; we keep a copy of the chosen ones.
  const AttentionCaptureShape shape{1, c->n_layer(), m.n_head + c->n_head(), DType::kF32};
  LW_ASSIGN_OR_RETURN(c->capture_bytes, attention_capture_bytes(shape, c->n_tok));
  if (c->capture_bytes <= budget) return Status::ok();
  LW_ASSIGN_OR_RETURN(int64_t fits, attention_max_tokens(shape, budget));
  return invalid_argument(
      "a " + std::to_string(c->n_tok) + "-token input needs " + format_bytes(c->capture_bytes) +
      " to capture " + std::to_string(c->n_layer()) + " layers x " + std::to_string(m.n_head) +
      " heads; the largest that fits in " + format_bytes(budget) + " is " + std::to_string(fits) +
      " tokens (capture fewer layers, or shorten the input)");
}

Status run_forward(AttentionModel& m, AttentionCapture* c, const std::vector<int32_t>& types) {
  models::Batch batch;
  const Device dev = m.pm->model->device();
  const Shape shape{1, c->n_tok};
  LW_ASSIGN_OR_RETURN(batch.input_ids, Tensor::from_ints(c->ids, shape, dev));
  if (std::find(c->key_valid.begin(), c->key_valid.end(), 0) != c->key_valid.end()) {
    std::vector<int32_t> mask(c->key_valid.begin(), c->key_valid.end());
    LW_ASSIGN_OR_RETURN(batch.attention_mask, Tensor::from_ints(mask, shape, dev));
  }
  if (!types.empty()) {
    LW_ASSIGN_OR_RETURN(batch.token_type_ids, Tensor::from_ints(types, shape, dev));
  }
  models::ForwardOptions fo;
  fo.capture_attention = true;
  fo.capture_layers = c->layers;
  fo.dropout = 0;
  LW_ASSIGN_OR_RETURN(models::ForwardResult out, m.pm->model->forward(batch, fo));
  LW_CHECK(int64_t(out.attn_probs.size()) == m.n_layer,
           m.architecture + " returned " + std::to_string(out.attn_probs.size()) +
               " attention layers, config.json says " + std::to_string(m.n_layer));
  const int64_t T = c->n_tok, H = c->n_head(), TT = T * T;
  c->probs.assign(size_t(c->n_layer() * H * TT), 0.0f);
  for (int64_t li = 0; li < c->n_layer(); ++li) {
    const Tensor& t = out.attn_probs[size_t(c->layers[size_t(li)])];
    LW_ASSERT(t.defined());
    LW_CHECK(t.shape() == Shape({1, m.n_head, T, T}),
             "layer " + std::to_string(c->layers[size_t(li)]) + " attention has shape " +
                 shape_to_string(t.shape()));
    LW_ASSIGN_OR_RETURN(std::vector<float> all, t.to_float_vector());
    for (int64_t hi = 0; hi < H; ++hi)
      std::copy_n(all.begin() + c->heads[size_t(hi)] * TT, TT,
                  c->probs.begin() + (li * H + hi) * TT);
  }
  return Status::ok();
}

}  // namespace

std::vector<float> AttentionCapture::head_average(int64_t li) const {
  const size_t TT = size_t(n_tok * n_tok);
  std::vector<float> avg(TT, 0.0f);
  for (int64_t hi = 0; hi < n_head(); ++hi) {
    const float* p = probs.data() + size_t(li * n_head() + hi) * TT;
    for (size_t i = 0; i < TT; ++i) avg[i] += p[i];
  }
  for (float& v : avg) v /= float(n_head());
  return avg;
}

Result<std::unique_ptr<AttentionModel>> load_attention_model(const std::string& dir,
                                                             const PlaygroundLoadOptions& opts) {
  LW_CHECK(std::filesystem::is_directory(dir), "model folder " + dir + " does not exist");
  LW_ASSIGN_OR_RETURN(io::HfConfig cfg, io::HfConfig::read(dir + "/config.json"));
  auto m = std::make_unique<AttentionModel>();
  LW_ASSIGN_OR_RETURN(m->n_layer, cfg.get_int({"n_layer", "num_hidden_layers"}, 1, 1 << 16));
  LW_ASSIGN_OR_RETURN(m->n_head, cfg.get_int({"n_head", "num_attention_heads"}, 1, 1 << 16));
  LW_ASSIGN_OR_RETURN(m->max_positions,
                      cfg.get_int({"n_positions", "max_position_embeddings"}, 1, int64_t(1) << 40));
  LW_ASSIGN_OR_RETURN(m->pm, load_playground_model(dir, opts));
  m->config_special_ids = m->pm->eos_token_ids;  // may be a list; parsed by the playground
  for (const char* key : {"bos_token_id", "cls_token_id", "sep_token_id"}) {
    // Only marks labels: a list or an odd value here must not stop the capture.
    auto id = cfg.get_int({key}, -1, int64_t(1) << 31, -1);
    if (id.is_ok() && *id >= 0) m->config_special_ids.push_back(int32_t(*id));
  }
  m->architecture = m->pm->model->architecture();
  // Decoders are exactly the models with an incremental forward; their attention is causal.
  m->causal = m->pm->model->kv_layout().is_ok();
  return m;
}

Result<AttentionCapture> capture_attention(AttentionModel& m, const AttentionRequest& req) {
  AttentionCapture c;
  c.architecture = m.architecture;
  c.causal = m.causal;
  c.model_layers = m.n_layer;
  c.model_heads = m.n_head;
  LW_TRY(select_indices(req.layers, m.n_layer, "layer", &c.layers));
  LW_TRY(select_indices(req.heads, m.n_head, "head", &c.heads));
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> types;
  LW_TRY(fill_tokens(m, req, &c, &types));
  c.encode_ms = ms_since(t0);
  LW_TRY(check_memory(m, &c,
                      req.memory_budget_bytes ? req.memory_budget_bytes : kDefaultAttentionBudget));
  t0 = std::chrono::steady_clock::now();
  LW_TRY(run_forward(m, &c, types));
  c.capture_ms = ms_since(t0);

  t0 = std::chrono::steady_clock::now();
  const AttentionProbs in{c.probs, c.n_layer(), c.n_head(), c.n_tok, c.key_valid, c.special};
  LW_ASSIGN_OR_RETURN(c.rollout, attention_rollout(in));
  LW_ASSIGN_OR_RETURN(c.entropy, head_entropy(in));
  LW_ASSIGN_OR_RETURN(c.distance, head_attention_distance(in));
  LW_ASSIGN_OR_RETURN(c.special_share, head_special_share(in));
  c.views_ms = ms_since(t0);
  return c;
}

Result<std::vector<int64_t>> parse_index_list(const std::string& text, const std::string& what) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string part;
  auto number = [&](const std::string& s, int64_t* v) -> Status {
    LW_CHECK(!s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos,
             what + ": '" + s + "' is not a non-negative integer (write e.g. 0,3-5)");
    *v = std::stoll(s);
    return Status::ok();
  };
  while (std::getline(ss, part, ',')) {
    const size_t dash = part.find('-');
    int64_t a = 0, b = 0;
    if (dash == std::string::npos) {
      LW_TRY(number(part, &a));
      b = a;
    } else {
      LW_TRY(number(part.substr(0, dash), &a));
      LW_TRY(number(part.substr(dash + 1), &b));
      LW_CHECK(a <= b, what + ": range '" + part + "' runs backwards");
      LW_CHECK(b - a < 65536, what + ": range '" + part + "' is too long");
    }
    for (int64_t i = a; i <= b; ++i) out.push_back(i);
  }
  LW_CHECK(!out.empty(), what + " names no index");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace lw::api
