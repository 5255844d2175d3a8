// BERT fill-mask: the masked-LM head's distribution at every [MASK] position, top-k
// candidates with probabilities, as transformers' fill-mask pipeline reports them
// (softmax over the whole vocabulary at that position, most likely first).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/models/model.h"
#include "engine/tokenize/tokenizer.h"

namespace lw {

struct MaskCandidate {
  int32_t id = -1;
  double prob = 0.0;
  std::string token;     // decode([id]) (empty without a tokenizer)
  std::string sequence;  // the text with this candidate in the mask (empty without a tokenizer)
};

struct MaskPrediction {
  int64_t position = 0;  // index of the [MASK] token in the ids
  std::vector<MaskCandidate> candidates;  // top_k, by probability, ties by lower id
};

// ids [T] with one or more `mask_id` tokens (a BertForMaskedLM model). Errors: no mask in
// the ids, top_k outside [1, V], a model without a masked-LM head, ids longer than the model.
Result<std::vector<MaskPrediction>> fill_mask_ids(models::Model& model,
                                                  const std::vector<int32_t>& ids, int32_t mask_id,
                                                  int32_t top_k);

// Tokenizes `text` (special tokens added), predicts every [MASK] and fills in token and
// sequence texts. Error when the tokenizer has no mask token or the text has no mask.
Result<std::vector<MaskPrediction>> fill_mask(models::Model& model, const Tokenizer& tokenizer,
                                              std::string_view text, int32_t top_k);

}  // namespace lw
