// Fill-mask (see fill_mask.h): one forward of the masked-LM model, then a host softmax in
// double per mask row and a partial sort for the top k.
#include "engine/generate/fill_mask.h"

#include <algorithm>
#include <cmath>

namespace lw {

Result<std::vector<MaskPrediction>> fill_mask_ids(models::Model& model,
                                                  const std::vector<int32_t>& ids, int32_t mask_id,
                                                  int32_t top_k) {
  LW_CHECK(model.head() == models::Head::kMaskedLm,
           model.architecture() + " has no masked-LM head; fill-mask needs BertForMaskedLM");
  std::vector<int64_t> masks;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == mask_id) masks.push_back(static_cast<int64_t>(i));
  LW_CHECK(!masks.empty(), "the text has no mask token (id " + std::to_string(mask_id) +
                               "); write [MASK] where a word should be predicted");
  const int64_t T = static_cast<int64_t>(ids.size());
  models::Batch batch;
  LW_ASSIGN_OR_RETURN(batch.input_ids, Tensor::from_ints(ids, {1, T}, model.device()));
  LW_ASSIGN_OR_RETURN(models::ForwardResult r, model.forward(batch, {}));
  LW_CHECK(r.logits.defined() && r.logits.dim() == 3, "the model returned no token logits");
  const int64_t V = r.logits.size(2);
  LW_CHECK(top_k >= 1 && top_k <= V, "--top-k must be in [1, " + std::to_string(V) + "], got " +
                                         std::to_string(top_k));
  LW_ASSIGN_OR_RETURN(Tensor rows, r.logits.reshape({T, V}));
  std::vector<MaskPrediction> out;
  std::vector<int32_t> order(static_cast<size_t>(V));
  for (int64_t pos : masks) {
    LW_ASSIGN_OR_RETURN(Tensor row_t, rows.slice(pos, 1));
    LW_ASSIGN_OR_RETURN(std::vector<float> row, row_t.to_float_vector());
    const double mx = *std::max_element(row.begin(), row.end());
    double z = 0;
    for (float x : row) z += std::exp(double(x) - mx);
    for (int32_t i = 0; i < V; ++i) order[i] = i;
    std::partial_sort(order.begin(), order.begin() + top_k, order.end(), [&](int32_t a, int32_t b) {
      return row[a] != row[b] ? row[a] > row[b] : a < b;
    });
    MaskPrediction p;
    p.position = pos;
    for (int32_t k = 0; k < top_k; ++k) {
      MaskCandidate c;
      c.id = order[k];
      c.prob = std::exp(double(row[c.id]) - mx) / z;
      p.candidates.push_back(std::move(c));
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<MaskPrediction>> fill_mask(models::Model& model, const Tokenizer& tokenizer,
                                              std::string_view text, int32_t top_k) {
  const int32_t mask_id = tokenizer.special_tokens().mask;
  LW_CHECK(mask_id >= 0, "the tokenizer has no mask token ([MASK]); fill-mask needs a BERT tokenizer");
  LW_ASSIGN_OR_RETURN(Encoding enc, tokenizer.encode(text, /*add_special_tokens=*/true));
  LW_ASSIGN_OR_RETURN(auto preds, fill_mask_ids(model, enc.ids, mask_id, top_k));
  // The sentence of a candidate: its mask filled, the other masks still shown as [MASK] (as
  // transformers' pipeline does with several masks), without [CLS] / [SEP] / padding.
  const SpecialTokens& sp = tokenizer.special_tokens();
  const bool other_masks = preds.size() > 1;
  for (auto& p : preds) {
    for (auto& c : p.candidates) {
      LW_ASSIGN_OR_RETURN(c.token, tokenizer.decode({c.id}, /*skip_special_tokens=*/false));
      std::vector<int32_t> filled;
      for (size_t i = 0; i < enc.ids.size(); ++i) {
        const int32_t id = i == static_cast<size_t>(p.position) ? c.id : enc.ids[i];
        if (i != static_cast<size_t>(p.position) && (id == sp.cls || id == sp.sep || id == sp.pad)) continue;
        filled.push_back(id);
      }
      LW_ASSIGN_OR_RETURN(c.sequence, tokenizer.decode(filled, /*skip_special_tokens=*/!other_masks));
    }
  }
  return preds;
}

}  // namespace lw
