// Prompt-tuning training loop (see prompt_trainer.h). The batch's embeddings are assembled on
// the host (token rows looked up on the model's device, virtual rows written in) because the
// virtual rows come from host-side prompt sources; the gradient comes back the same way.
// Letters: B batch, T longest layout, C model width, N virtual rows of a task.
#include "engine/train/prompt_trainer.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "engine/core/rng.h"
#include "engine/ops/ops.h"

namespace lw::train {
namespace {

// Labels that reach the loss after the causal shift.
int64_t label_count(const std::vector<const PromptLayout*>& batch) {
  int64_t n = 0;
  for (const auto* l : batch)
    for (size_t t = 1; t < l->labels.size(); ++t) n += l->labels[t] != -100;
  return n;
}

}  // namespace

Result<models::Batch> assemble_batch(const models::Model& model,
                                     const std::vector<const PromptLayout*>& layouts,
                                     const std::vector<const std::vector<float>*>& tables) {
  LW_CHECK(!layouts.empty(), "prompt batch is empty");
  LW_ASSIGN_OR_RETURN(const models::Param* emb, token_embedding(model));
  const int64_t B = int64_t(layouts.size()), C = emb->spec.shape[1];
  int64_t T = 0;
  for (const auto* l : layouts) T = std::max<int64_t>(T, int64_t(l->ids.size()));
  std::vector<int32_t> ids(size_t(B * T), 0), mask(size_t(B * T), 0), labels(size_t(B * T), -100);
  bool padded = false;
  for (int64_t b = 0; b < B; ++b) {
    const PromptLayout& l = *layouts[b];
    for (size_t t = 0; t < l.ids.size(); ++t) {
      ids[b * T + t] = l.ids[t];
      mask[b * T + t] = 1;
      labels[b * T + t] = l.labels[t];
    }
    padded |= int64_t(l.ids.size()) < T;
  }
  models::Batch batch;
  LW_ASSIGN_OR_RETURN(Tensor ids_t, Tensor::from_ints(ids, {B, T}, model.device()));
  LW_ASSIGN_OR_RETURN(Tensor tok, ops::embedding(ids_t, emb->value));
  LW_ASSIGN_OR_RETURN(std::vector<float> host, tok.to_float_vector());
  for (int64_t b = 0; b < B; ++b) {
    const PromptLayout& l = *layouts[b];
    LW_CHECK(l.task >= 0 && size_t(l.task) < tables.size() && tables[l.task],
             "prompt batch: no table for task index " + std::to_string(l.task));
    const std::vector<float>& tab = *tables[l.task];
    for (size_t t = 0; t < l.ids.size(); ++t) {
      const int32_t r = l.virtual_row[t];
      if (r < 0) continue;
      LW_CHECK(int64_t(r + 1) * C <= int64_t(tab.size()), "virtual row " + std::to_string(r) +
                                                              " is outside the task's table");
      std::copy_n(&tab[size_t(r) * C], C, &host[size_t(b * T + int64_t(t)) * C]);
    }
  }
  LW_ASSIGN_OR_RETURN(batch.inputs_embeds, Tensor::from_floats(host, {B, T, C}, model.dtype(), model.device()));
  LW_ASSIGN_OR_RETURN(batch.labels, Tensor::from_ints(labels, {B, T}, model.device()));
  if (padded) {
    LW_ASSIGN_OR_RETURN(batch.attention_mask, Tensor::from_ints(mask, {B, T}, model.device()));
  }
  return batch;
}

PromptStepper::PromptStepper(models::Model& model, std::vector<std::unique_ptr<PromptSource>> sources,
                             std::vector<std::vector<float>> fixed, float weight_decay)
    : model_(model), sources_(std::move(sources)), fixed_(std::move(fixed)) {
  fixed_.resize(sources_.size());
  adam_.weight_decay = weight_decay;
}

Result<std::vector<float>> PromptStepper::rows(size_t k) {
  LW_CHECK(k < sources_.size(), "prompt task index out of range");
  if (!sources_[k]) return fixed_[k];
  return sources_[k]->forward(false, 0);
}

Result<float> PromptStepper::step(const std::vector<const PromptLayout*>& batch, float lr,
                                  uint64_t dropout_seed) {
  const size_t K = sources_.size();
  std::vector<std::vector<float>> cur(K);
  std::vector<const std::vector<float>*> tables(K, nullptr);
  std::vector<bool> present(K, false);
  for (const auto* l : batch) {
    LW_CHECK(l->task >= 0 && size_t(l->task) < K, "prompt layout names an unknown task");
    present[l->task] = true;
  }
  for (size_t k = 0; k < K; ++k) {
    if (!present[k]) continue;
    if (sources_[k]) {
      LW_ASSIGN_OR_RETURN(cur[k], sources_[k]->forward(true, dropout_seed * 7919 + k));
      tables[k] = &cur[k];
    } else {
      tables[k] = &fixed_[k];
    }
  }
  LW_ASSIGN_OR_RETURN(models::Batch b, assemble_batch(model_, batch, tables));
  models::ForwardOptions fo;
  fo.keep_activations = true;
  fo.dropout = 0.0f;  // the frozen model runs deterministically (PEFT parity uses dropout 0)
  LW_ASSIGN_OR_RETURN(models::ForwardResult fr, model_.forward(b, fo));
  LW_ASSIGN_OR_RETURN(Tensor d, model_.backward_inputs());
  LW_ASSIGN_OR_RETURN(std::vector<float> dh, d.to_float_vector());
  const int64_t T = b.inputs_embeds.size(1), C = b.inputs_embeds.size(2);
  std::vector<HostParam*> params;
  for (size_t k = 0; k < K; ++k) {
    if (!present[k] || !sources_[k]) continue;
    std::vector<float> dt(size_t(sources_[k]->rows() * C), 0.0f);
    for (size_t bi = 0; bi < batch.size(); ++bi) {
      const PromptLayout& l = *batch[bi];
      if (size_t(l.task) != k) continue;
      for (size_t t = 0; t < l.ids.size(); ++t) {
        const int32_t r = l.virtual_row[t];
        if (r < 0) continue;
        const float* src = &dh[(bi * size_t(T) + t) * size_t(C)];
        float* dst = &dt[size_t(r) * C];
        for (int64_t c = 0; c < C; ++c) dst[c] += src[c];
      }
    }
    sources_[k]->zero_grad();
    LW_TRY(sources_[k]->backward(dt));
    for (auto& p : sources_[k]->params()) params.push_back(&p);
  }
  adam_.step(params, lr);
  return fr.loss;
}

Result<std::pair<double, int64_t>> PromptStepper::loss(const std::vector<const PromptLayout*>& batch) {
  const size_t K = sources_.size();
  std::vector<std::vector<float>> cur(K);
  std::vector<const std::vector<float>*> tables(K, nullptr);
  for (const auto* l : batch) {
    LW_CHECK(l->task >= 0 && size_t(l->task) < K, "prompt layout names an unknown task");
    if (!tables[l->task]) {
      LW_ASSIGN_OR_RETURN(cur[l->task], rows(size_t(l->task)));
      tables[l->task] = &cur[l->task];
    }
  }
  LW_ASSIGN_OR_RETURN(models::Batch b, assemble_batch(model_, batch, tables));
  LW_ASSIGN_OR_RETURN(models::ForwardResult fr, model_.forward(b, {}));
  return std::make_pair(double(fr.loss), label_count(batch));
}

Result<std::vector<int32_t>> greedy_generate(models::Model& model, const PromptLayout& prompt,
                                             const std::vector<float>& table, int64_t max_new,
                                             int32_t eos) {
  LW_ASSIGN_OR_RETURN(models::KvLayout kv, model.kv_layout());
  const int64_t T = int64_t(prompt.ids.size());
  LW_CHECK(T < kv.max_positions, "the prompt is " + std::to_string(T) +
                                     " tokens; the model takes at most " + std::to_string(kv.max_positions));
  const int64_t P = std::min(kv.max_positions, T + max_new);
  std::vector<models::KvLayer> cache(size_t(kv.n_layer));
  for (auto& c : cache) {
    LW_ASSIGN_OR_RETURN(c.k, Tensor::zeros({P, kv.n_kv_head * kv.head_dim}, model.dtype(), model.device()));
    LW_ASSIGN_OR_RETURN(c.v, Tensor::zeros({P, kv.n_kv_head * kv.head_dim}, model.dtype(), model.device()));
  }
  std::vector<const std::vector<float>*> tables(size_t(prompt.task + 1), nullptr);
  tables[prompt.task] = &table;
  LW_ASSIGN_OR_RETURN(models::Batch b, assemble_batch(model, {&prompt}, tables));
  LW_ASSIGN_OR_RETURN(Tensor logits, model.forward_cached_embeds(b.inputs_embeds, 0, cache));
  std::vector<int32_t> out;
  for (int64_t past = T;; ++past) {
    LW_ASSIGN_OR_RETURN(std::vector<float> l, logits.to_float_vector());
    const int32_t id = int32_t(std::max_element(l.begin(), l.end()) - l.begin());
    if (id == eos) break;
    out.push_back(id);
    if (int64_t(out.size()) >= max_new || past >= P) break;  // the next write is row `past`
    LW_ASSIGN_OR_RETURN(Tensor ids, Tensor::from_ints(std::vector<int32_t>{id}, {1, 1}, model.device()));
    LW_ASSIGN_OR_RETURN(logits, model.forward_cached(ids, past, cache));
  }
  return out;
}

Result<std::vector<float>> initial_rows(const models::Model& model, const Tokenizer* tokenizer,
                                        const std::string& init, const std::string& init_text,
                                        int64_t rows, uint64_t seed) {
  LW_ASSIGN_OR_RETURN(const models::Param* emb, token_embedding(model));
  const Tensor& w = emb->master.defined() ? emb->master : emb->value;
  LW_ASSIGN_OR_RETURN(std::vector<float> table, w.to_float_vector());
  const int64_t V = emb->spec.shape[0], C = emb->spec.shape[1];
  std::vector<float> out(size_t(rows * C));
  PhiloxStream rng(seed);
  std::vector<int64_t> ids;
  if (init == "random") {
    double s = 0, s2 = 0;
    for (float v : table) s += v, s2 += double(v) * v;
    const double mean = s / double(table.size());
    const float sd = float(std::sqrt(std::max(1e-12, s2 / double(table.size()) - mean * mean)));
    for (auto& v : out) v = rng.normal() * sd;
    return out;
  } else if (init == "text") {
    LW_CHECK(tokenizer, "--init text needs the model folder's tokenizer");
    LW_CHECK(!init_text.empty(), "--init text needs --init-text TEXT");
    LW_ASSIGN_OR_RETURN(Encoding e, tokenizer->encode(init_text, false));
    LW_CHECK(!e.ids.empty(), "--init-text gives no tokens");
    for (int64_t r = 0; r < rows; ++r) ids.push_back(e.ids[size_t(r) % e.ids.size()]);  // PEFT: repeat, truncate
  } else if (init == "vocab") {
    for (int64_t r = 0; r < rows; ++r) ids.push_back(int64_t(rng.below(uint64_t(V))));
  } else {
    return invalid_argument("init '" + init + "' is not one of random, text, vocab");
  }
  for (int64_t r = 0; r < rows; ++r) {
    LW_CHECK(ids[r] >= 0 && ids[r] < V, "init token id " + std::to_string(ids[r]) + " is outside the vocabulary");
    std::copy_n(&table[size_t(ids[r] * C)], C, &out[size_t(r * C)]);
  }
  return out;
}

}  // namespace lw::train
