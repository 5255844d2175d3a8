// `llmwb bench decode`: times greedy generation (prompt P, G new tokens, batch B) through the
// same lw::generate the playground uses, on a Hugging Face folder or on a random-weight
// preset of the shapes ../shared/bench/hf_anchor.py measures (decode-gpt2, decode-llama1b),
// and sets the result beside the memory roofline: decoding reads every weight once per
// step, so tokens/s x weight bytes is bounded by the memory bandwidth measured here.
#pragma once
#include <cstdint>
#include <string>

#include "engine/core/device.h"
#include "engine/core/dtype.h"
#include "engine/core/status.h"

namespace lw::api {

struct DecodeBenchOptions {
  std::string model_dir;  // a Hugging Face folder, or empty with `preset`
  std::string preset;     // "gpt2-124m" | "llama-1b1" (random weights, seed 0)
  Device device = Device::cpu();
  DType dtype = DType::kBF16;
  int64_t prompt_tokens = 128;
  int64_t gen_tokens = 256;
  int64_t batch = 1;
  int iters = 3;   // timed runs (median reported)
  int warmup = 1;  // untimed runs first
};

struct DecodeBenchResult {
  std::string model;         // architecture and where it came from
  std::string device_name;   // "NVIDIA H100 80GB HBM3", "cpu (2 threads)"
  bool decode_engine = false;  // the CUDA graph path ran (else the per-sequence path)
  int64_t batch = 1, prompt_tokens = 0, gen_tokens = 0;
  int64_t num_parameters = 0;
  double weight_bytes = 0;     // parameters x dtype size
  double kv_cache_bytes = 0;
  double ttft_s = 0;           // median time to the first token of every sequence
  double prefill_tok_s = 0;    // prompt tokens per second (batch x P / prefill time)
  double decode_tok_s = 0;     // tokens per second over the decode steps (all sequences)
  double total_s = 0;          // median wall time of one generate()
  double e2e_tok_s = 0;        // batch x G / total_s (hf_anchor.py's figure)
  double mem_bandwidth_gbs = 0;  // measured: device copy (read + write) or host read
  double roofline_tok_s = 0;     // batch x bandwidth / weight bytes
  double roofline_fraction = 0;  // decode_tok_s / roofline_tok_s
};

Result<DecodeBenchResult> bench_decode(const DecodeBenchOptions& opts);

}  // namespace lw::api
