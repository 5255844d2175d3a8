// KvCache: allocation and bookkeeping (see kv_cache.h); the model writes the rows.
#include "engine/generate/kv_cache.h"

#include <string>

namespace lw {

Result<KvCache> KvCache::create(const models::KvLayout& layout, int64_t capacity, Device device,
                                DType dtype) {
  LW_CHECK(layout.n_layer >= 1 && layout.n_kv_head >= 1 && layout.head_dim >= 1,
           "KV cache layout needs n_layer, n_kv_head and head_dim >= 1");
  LW_CHECK(capacity >= 1 && capacity <= layout.max_positions,
           "KV cache capacity " + std::to_string(capacity) + " is outside [1, " +
               std::to_string(layout.max_positions) + "] (the model's context)");
  KvCache c;
  c.layout_ = layout;
  c.capacity_ = capacity;
  const Shape shape = {capacity, layout.n_kv_head * layout.head_dim};
  c.layers_.resize(static_cast<size_t>(layout.n_layer));
  for (auto& l : c.layers_) {
    LW_ASSIGN_OR_RETURN(l.k, Tensor::zeros(shape, dtype, device));
    LW_ASSIGN_OR_RETURN(l.v, Tensor::zeros(shape, dtype, device));
  }
  return c;
}

Status KvCache::set_length(int64_t n) {
  LW_CHECK(n >= 0 && n <= capacity_, "KV cache length " + std::to_string(n) + " is outside [0, " +
                                          std::to_string(capacity_) + "]");
  length_ = n;
  return Status::ok();
}

size_t KvCache::nbytes() const {
  size_t n = 0;
  for (const auto& l : layers_) n += l.k.nbytes() + l.v.nbytes();
  return n;
}

}  // namespace lw
