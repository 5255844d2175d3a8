// The key/value cache of ONE sequence for incremental decoding: per layer two
// pre-allocated [P, NKV*D] buffers (P = positions it can hold), sized from the model's
// KvLayout so grouped-query models store only their NKV heads. Allocated once before
// prefill; a decode step writes one row per layer and allocates nothing here.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/core/status.h"
#include "engine/models/model.h"

namespace lw {

class KvCache {
 public:
  // Buffers for `capacity` positions (1 <= capacity <= layout.max_positions), zero-filled,
  // on `device` in `dtype` (the model's).
  static Result<KvCache> create(const models::KvLayout& layout, int64_t capacity, Device device,
                                DType dtype);

  std::vector<models::KvLayer>& layers() { return layers_; }
  const models::KvLayout& layout() const { return layout_; }
  int64_t capacity() const { return capacity_; }
  // Positions filled so far (the `past` of the next forward_cached).
  int64_t length() const { return length_; }
  // After a forward of n tokens; truncating (continuing from an earlier token) is allowed,
  // the rows past the new length are simply overwritten later.
  Status set_length(int64_t n);
  // Bytes held by the buffers.
  size_t nbytes() const;

 private:
  models::KvLayout layout_;
  int64_t capacity_ = 0;
  int64_t length_ = 0;
  std::vector<models::KvLayer> layers_;
};

}  // namespace lw
