// The decode benchmark (see decode_bench.h). Presets are built from config.json text equal
// to transformers' GPT2Config() and hf_anchor.py's TinyLlama-shaped LlamaConfig; weights are
// uniform with the std of initializer_range (norm weights 1, biases 0) from a fixed seed, so
// greedy decoding sees realistic logits. Prompts are ids in [0, 1000), as hf_anchor.py.
#include "engine/api/decode_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "engine/backend/cpu/thread_pool.h"
#include "engine/generate/decode_engine.h"
#include "engine/generate/generator.h"
#include "engine/io/hf_config.h"
#include "engine/models/model.h"

#if LW_WITH_CUDA
#include <cuda_runtime_api.h>

#include "engine/backend/cuda/caching_allocator.h"
#include "engine/backend/cuda/cuda_check.h"
#endif

namespace lw::api {
namespace {

using Clock = std::chrono::steady_clock;

const char* kGpt2Config = R"({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
  "vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12,
  "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05, "resid_pdrop": 0.0,
  "embd_pdrop": 0.0, "attn_pdrop": 0.0, "tie_word_embeddings": true})";
const char* kLlamaConfig = R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "vocab_size": 32000, "max_position_embeddings": 2048, "hidden_size": 2048,
  "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
  "num_key_value_heads": 4, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
  "hidden_act": "silu", "tie_word_embeddings": false})";

// splitmix64: fast, seedable, good enough for benchmark weights.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
};

Status randomize(models::Model& m, double std) {
  Rng rng{0};
  const float a = static_cast<float>(std * std::sqrt(3.0));
  std::vector<float> host;
  for (models::Param& p : m.params()) {
    host.resize(static_cast<size_t>(p.value.numel()));
    if (p.spec.role == models::Role::kNormWeight) {
      std::fill(host.begin(), host.end(), 1.0f);
    } else if (p.spec.role == models::Role::kBias || p.spec.role == models::Role::kNormBias) {
      std::fill(host.begin(), host.end(), 0.0f);
    } else {
      for (float& v : host) v = (2.0f * rng.uniform() - 1.0f) * a;
    }
    LW_ASSIGN_OR_RETURN(Tensor t, Tensor::from_floats(host, p.value.shape(), DType::kF32));
    LW_TRY(p.value.copy_from(t));
    if (p.master.defined()) LW_TRY(p.master.copy_from(t));
  }
  return Status::ok();
}

Result<std::unique_ptr<models::Model>> make_model(const DecodeBenchOptions& o, std::string* name) {
  models::LoadOptions lo{o.device, o.dtype};
  if (!o.model_dir.empty()) {
    *name = o.model_dir;
    return models::load_model(o.model_dir, lo);
  }
  const char* text = o.preset == "gpt2-124m" ? kGpt2Config
                     : o.preset == "llama-1b1" ? kLlamaConfig
                                               : nullptr;
  LW_CHECK(text, "unknown preset '" + o.preset + "' (gpt2-124m, llama-1b1)");
  LW_ASSIGN_OR_RETURN(io::HfConfig hf, io::HfConfig::parse("preset " + o.preset, text));
  LW_ASSIGN_OR_RETURN(auto m, models::create_model(hf, lo));
  LW_TRY(randomize(*m, 0.02));
  *name = "preset " + o.preset + " (" + m->architecture() + ", random weights)";
  return m;
}

// Bytes/s: on CUDA a 1 GiB device copy counted as read + write (hf_anchor.py's
// hbm_copy figure); on the CPU a multithreaded sum over 256 MiB (reads only).
Result<double> memory_bandwidth(Device device) {
#if LW_WITH_CUDA
  if (device.is_cuda()) {
    const size_t n = size_t(1) << 30;
    void *a = nullptr, *b = nullptr;
    LW_CUDA_TRY(cudaMalloc(&a, n));
    cudaError_t e = cudaMalloc(&b, n);
    if (e != cudaSuccess) {
      cudaFree(a);
      LW_CUDA_TRY(e);
    }
    std::vector<double> t;
    for (int i = 0; i < 6; ++i) {
      const auto t0 = Clock::now();
      cudaMemcpy(b, a, n, cudaMemcpyDeviceToDevice);
      cudaDeviceSynchronize();
      t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    cudaFree(a);
    cudaFree(b);
    LW_CUDA_TRY(cudaGetLastError());
    std::sort(t.begin(), t.end());
    return 2.0 * double(n) / t[t.size() / 2];
  }
#endif
  const size_t n = (size_t(256) << 20) / sizeof(float);
  std::vector<float> buf(n, 1.0f);
  const int threads = std::max(1, cpu::num_threads());
  std::vector<double> times;
  std::vector<double> sums(static_cast<size_t>(threads));
  for (int rep = 0; rep < 4; ++rep) {
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int k = 0; k < threads; ++k)
      pool.emplace_back([&, k] {
        const size_t lo = n * k / threads, hi = n * (k + 1) / threads;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = lo; i + 3 < hi; i += 4) s0 += buf[i], s1 += buf[i + 1], s2 += buf[i + 2], s3 += buf[i + 3];
        sums[k] = s0 + s1 + s2 + s3;
      });
    for (auto& th : pool) th.join();
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return double(n * sizeof(float)) / times[times.size() / 2];
}

std::string device_name(Device device) {
#if LW_WITH_CUDA
  if (device.is_cuda()) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, device.index) == cudaSuccess) return prop.name;
  }
#endif
  return "cpu (" + std::to_string(cpu::num_threads()) + " threads)";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

Result<DecodeBenchResult> bench_decode(const DecodeBenchOptions& o) {
  LW_CHECK(o.prompt_tokens >= 1 && o.gen_tokens >= 1 && o.batch >= 1 && o.iters >= 1 &&
               o.warmup >= 0,
           "--prompt-tokens, --gen-tokens, --batch and --iters must be >= 1");
  LW_CHECK(o.model_dir.empty() != o.preset.empty(), "give either --model DIR or --preset NAME");
  LW_CHECK(o.preset.empty() || o.preset == "gpt2-124m" || o.preset == "llama-1b1",
           "unknown preset '" + o.preset + "' (gpt2-124m, llama-1b1)");
#if LW_WITH_CUDA
  if (o.device.is_cuda()) LW_TRY(cuda::init_backend());
#endif
  DecodeBenchResult r;
  LW_ASSIGN_OR_RETURN(auto model, make_model(o, &r.model));
  LW_ASSIGN_OR_RETURN(models::KvLayout layout, model->kv_layout());
  LW_CHECK(o.prompt_tokens + o.gen_tokens <= layout.max_positions,
           "prompt + generated tokens (" + std::to_string(o.prompt_tokens + o.gen_tokens) +
               ") exceed the model's context of " + std::to_string(layout.max_positions));
  r.batch = o.batch, r.prompt_tokens = o.prompt_tokens, r.gen_tokens = o.gen_tokens;
  r.num_parameters = model->num_parameters();
  r.weight_bytes = double(r.num_parameters) * dtype_size(o.dtype);
  r.device_name = device_name(o.device);
  {
    auto probe = DecodeEngine::create(*model, 1, 1);
    r.decode_engine = probe.is_ok();
  }
  // Ids below 1000 (hf_anchor.py), and below the vocabulary (the token embedding's rows).
  uint64_t id_range = 1000;
  for (const models::Param& p : model->params())
    if (p.spec.role == models::Role::kEmbedding) {  // the first is the token table
      id_range = std::min<uint64_t>(id_range, uint64_t(p.spec.shape[0]));
      break;
    }
  GenerateRequest req;
  Rng rng{1};
  for (int64_t b = 0; b < o.batch; ++b) {
    std::vector<int32_t> p(static_cast<size_t>(o.prompt_tokens));
    for (auto& id : p) id = static_cast<int32_t>(rng.next() % id_range);
    req.prompts.push_back(std::move(p));
  }
  req.params.greedy = true;
  req.params.ignore_eos = true;
  req.params.max_new_tokens = o.gen_tokens;
  std::vector<double> ttft, prefill, decode, total;
  for (int it = 0; it < o.warmup + o.iters; ++it) {
    const auto t0 = Clock::now();
    LW_ASSIGN_OR_RETURN(GenerateResult g, generate(*model, nullptr, req));
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    for (const auto& s : g.sequences)
      LW_CHECK(int64_t(s.ids.size()) == o.gen_tokens, "a sequence stopped early");
    if (it < o.warmup) continue;
    ttft.push_back(g.timing.time_to_first_token_s);
    prefill.push_back(g.timing.prefill_tokens_per_s());
    decode.push_back(g.timing.decode_tokens_per_s());
    total.push_back(wall);
    r.kv_cache_bytes = double(g.kv_cache_bytes);
  }
  r.ttft_s = median(ttft);
  r.prefill_tok_s = median(prefill);
  r.decode_tok_s = median(decode);
  r.total_s = median(total);
  r.e2e_tok_s = double(o.batch * o.gen_tokens) / r.total_s;
  LW_ASSIGN_OR_RETURN(double bw, memory_bandwidth(o.device));
  r.mem_bandwidth_gbs = bw / 1e9;
  r.roofline_tok_s = double(o.batch) * bw / r.weight_bytes;
  r.roofline_fraction = r.decode_tok_s / r.roofline_tok_s;
  return r;
}

}  // namespace lw::api
