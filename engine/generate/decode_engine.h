// The CUDA decode engine for the causal-LM families (GPT-2, LLaMA / Mistral / Qwen2): a
// batch of sequences decoded one token per step through ONE captured CUDA graph a step
// (all layers, final norm, LM head and greedy argmax), fed by the model's own parameters
// (read through Model::find). Every buffer (f32 activations for the batch, the KV caches
// [L, B, P, NKV*D] in the model dtype, logits [B, V]) is allocated once at creation, and a
// step's tokens and positions travel in one pinned upload (or, for a greedy step chained to
// the previous one, stay on the device), so a step allocates nothing and synchronises once,
// to hand back one id per sequence (written by the argmax into mapped host memory). Prefill reuses the
// model's forward_cached on views of the same caches. The existing per-sequence path
// (generator.cpp) stays the reference and serves the CPU.
// Dimension letters: B sequences, P cache positions, L layers, C channels, V vocabulary.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/core/status.h"
#include "engine/models/model.h"

namespace lw {

class DecodeEngine {
 public:
  // kUnsupported (so callers fall back to the reference path) for models on the CPU,
  // families without a decode graph, or a sliding window shorter than `capacity`.
  static Result<std::unique_ptr<DecodeEngine>> create(models::Model& model, int64_t max_batch,
                                                      int64_t capacity);
  ~DecodeEngine();
  DecodeEngine(const DecodeEngine&) = delete;
  DecodeEngine& operator=(const DecodeEngine&) = delete;

  int64_t max_batch() const;
  int64_t capacity() const;  // P: positions each sequence's cache holds
  int64_t vocab() const;
  size_t kv_cache_bytes() const;
  size_t weight_bytes() const;  // what one step reads from the weights

  // Writes `ids` (positions 0..n-1, n <= capacity) into sequence b's cache through the
  // model's forward_cached and returns the last position's logits [1, V] (model dtype).
  Result<Tensor> prefill(int64_t b, std::span<const int32_t> ids);
  // One token for each of the first n = tokens.size() sequences: tokens[b] at position
  // positions[b] (< capacity; rows [0, positions[b]) must be filled). Replays the graph
  // for batch n (captured on first use) and waits for it: launch() then wait().
  Status step(std::span<const int32_t> tokens, std::span<const int32_t> positions);
  // Pipelined greedy decoding, so that the GPU never waits for the host between steps:
  // launch() queues a step as step() describes (nothing may be queued); launch_next() queues
  // one more step for the same sequences fed on the device from the last queued step's
  // greedy ids, each at its next position (at most capacity - 1); wait() blocks until the
  // oldest queued step is done. At most two steps are queued; a queued step nobody wants
  // (the sequences ended) is waited for by drain().
  Status launch(std::span<const int32_t> tokens, std::span<const int32_t> positions);
  Status launch_next();
  Status wait();
  int queued() const;
  Status drain();
  // After step() / wait(): per sequence the argmax of its logits (first index of the
  // maximum) and that token's log-softmax value.
  std::span<const int32_t> greedy_ids() const;
  std::span<const float> greedy_logprobs() const;
  // After step() (nothing queued): sequence b's logits row (f32) for host-side sampling.
  Status logits_row(int64_t b, std::vector<float>& out);

  struct Impl;

 private:
  explicit DecodeEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lw
