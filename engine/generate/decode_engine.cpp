// The CUDA decode engine (see decode_engine.h): weights located once by name, buffers
// allocated once, one graph per (batch size, input uploaded or chained, result slot)
// captured after an eager warm-up step (which also grants the kernels' shared memory, a
// host-side call a capture must not make).
// Per layer: gemv(norm1 -> qkv), attention (rotary, cache write, split keys, combine),
// gemv(o, += x), gemv(norm2 -> fc / gate|up), gemv(GELU'd fc or SwiGLU -> down, += x).
// Dimension letters: B sequences, P positions, L layers, C channels, NH/NKV heads, D head
// size, Q = NH*D, KV = NKV*D, F MLP width, V vocabulary.
#include "engine/generate/decode_engine.h"

#if LW_WITH_CUDA
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <tuple>

#include "engine/backend/cuda/caching_allocator.h"
#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/decode_kernels.h"
#include "engine/io/hf_config.h"
#include "engine/models/gpt.h"
#include "engine/models/llama.h"
#endif

namespace lw {

#if LW_WITH_CUDA
namespace {
namespace dk = cuda::decode;

struct LayerWeights {
  const void* norm1_w = nullptr;
  const void* norm1_b = nullptr;
  dk::GemvSegment qkv[3];
  int nqkv = 0;
  dk::GemvSegment o;
  const void* norm2_w = nullptr;
  const void* norm2_b = nullptr;
  dk::GemvSegment up[2];  // GPT-2 fc; LLaMA gate, up
  int nup = 0;
  dk::GemvSegment down;
};

// What the step needs to know about the architecture, read from the model.
struct Arch {
  bool llama = false;
  int64_t C = 0, NH = 0, NKV = 0, D = 0, F = 0, V = 0, L = 0;
  float eps = 1e-5f, theta = 0.f;
  int64_t sliding_window = 0;
  dk::OutputOp mlp_act = dk::OutputOp::kStore;
  const void* wte = nullptr;
  const void* wpe = nullptr;
  const void* final_w = nullptr;
  const void* final_b = nullptr;
  const void* head = nullptr;
  std::vector<LayerWeights> layers;
};

// Device pointer of parameter `name`, checked against the shape the step assumes.
Result<const void*> weight(models::Model& m, const std::string& name, const Shape& shape,
                           bool optional = false) {
  models::Param* p = m.find(name);
  if (!p) {
    if (optional) return static_cast<const void*>(nullptr);
    return internal_error("decode engine: " + m.architecture() + " has no parameter " + name);
  }
  LW_CHECK(p->value.shape() == shape && p->value.is_contiguous(),
           "decode engine: " + name + " is " + p->value.to_string() + ", expected " +
               shape_to_string(shape));
  return static_cast<const void*>(p->value.data_ptr());
}

Status read_gpt2(models::Model& m, Arch& a) {
  LW_ASSIGN_OR_RETURN(io::HfConfig hf, io::HfConfig::parse("config.json", m.config_json()));
  LW_ASSIGN_OR_RETURN(models::GptConfig c, models::GptConfig::from_hf(hf));
  a.C = c.n_embd, a.NH = a.NKV = c.n_head, a.D = c.n_embd / c.n_head, a.F = c.ffn();
  a.V = c.vocab_size, a.L = c.n_layer, a.eps = float(c.layer_norm_epsilon);
  a.mlp_act = c.activation == ops::Gelu::kTanh ? dk::OutputOp::kGeluTanh : dk::OutputOp::kGeluErf;
  const int64_t C = a.C, F = a.F;
  LW_ASSIGN_OR_RETURN(a.wte, weight(m, "wte", {a.V, C}));
  LW_ASSIGN_OR_RETURN(a.wpe, weight(m, "wpe", {c.n_positions, C}));
  LW_ASSIGN_OR_RETURN(a.final_w, weight(m, "ln_f.w", {C}));
  LW_ASSIGN_OR_RETURN(a.final_b, weight(m, "ln_f.b", {C}));
  LW_ASSIGN_OR_RETURN(a.head, weight(m, "lm_head.w", {a.V, C}, true));
  if (!a.head) a.head = a.wte;
  for (int64_t l = 0; l < a.L; ++l) {
    const std::string pre = "h." + std::to_string(l) + ".";
    LayerWeights w;
    LW_ASSIGN_OR_RETURN(w.norm1_w, weight(m, pre + "ln1.w", {C}));
    LW_ASSIGN_OR_RETURN(w.norm1_b, weight(m, pre + "ln1.b", {C}));
    LW_ASSIGN_OR_RETURN(w.qkv[0].w, weight(m, pre + "qkv.w", {3 * C, C}));
    LW_ASSIGN_OR_RETURN(w.qkv[0].bias, weight(m, pre + "qkv.b", {3 * C}));
    w.qkv[0].rows = int(3 * C), w.nqkv = 1;
    LW_ASSIGN_OR_RETURN(w.o.w, weight(m, pre + "proj.w", {C, C}));
    LW_ASSIGN_OR_RETURN(w.o.bias, weight(m, pre + "proj.b", {C}));
    w.o.rows = int(C);
    LW_ASSIGN_OR_RETURN(w.norm2_w, weight(m, pre + "ln2.w", {C}));
    LW_ASSIGN_OR_RETURN(w.norm2_b, weight(m, pre + "ln2.b", {C}));
    LW_ASSIGN_OR_RETURN(w.up[0].w, weight(m, pre + "fc.w", {F, C}));
    LW_ASSIGN_OR_RETURN(w.up[0].bias, weight(m, pre + "fc.b", {F}));
    w.up[0].rows = int(F), w.nup = 1;
    LW_ASSIGN_OR_RETURN(w.down.w, weight(m, pre + "fcproj.w", {C, F}));
    LW_ASSIGN_OR_RETURN(w.down.bias, weight(m, pre + "fcproj.b", {C}));
    w.down.rows = int(C);
    a.layers.push_back(w);
  }
  return Status::ok();
}

// A weight [rows, in] with its optional bias, as one GEMV segment.
Result<dk::GemvSegment> segment(models::Model& m, const std::string& pre, int64_t rows,
                                int64_t in) {
  dk::GemvSegment s;
  LW_ASSIGN_OR_RETURN(s.w, weight(m, pre + ".w", {rows, in}));
  LW_ASSIGN_OR_RETURN(s.bias, weight(m, pre + ".b", {rows}, true));
  s.rows = int(rows);
  return s;
}

Status read_llama(models::Model& m, Arch& a) {
  LW_ASSIGN_OR_RETURN(io::HfConfig hf, io::HfConfig::parse("config.json", m.config_json()));
  LW_ASSIGN_OR_RETURN(models::LlamaConfig c, models::LlamaConfig::from_hf(hf));
  a.llama = true;
  a.C = c.hidden_size, a.NH = c.num_attention_heads, a.NKV = c.num_key_value_heads;
  a.D = c.head_dim, a.F = c.intermediate_size, a.V = c.vocab_size, a.L = c.num_hidden_layers;
  a.eps = float(c.rms_norm_eps), a.theta = float(c.rope_theta);
  a.sliding_window = c.sliding_window;
  const int64_t C = a.C, Q = a.NH * a.D, KV = a.NKV * a.D, F = a.F;
  LW_ASSIGN_OR_RETURN(a.wte, weight(m, "embed", {a.V, C}));
  LW_ASSIGN_OR_RETURN(a.final_w, weight(m, "norm.w", {C}));
  LW_ASSIGN_OR_RETURN(a.head, weight(m, "lm_head.w", {a.V, C}, true));
  if (!a.head) a.head = a.wte;
  for (int64_t l = 0; l < a.L; ++l) {
    const std::string pre = "l." + std::to_string(l) + ".";
    LayerWeights w;
    LW_ASSIGN_OR_RETURN(w.norm1_w, weight(m, pre + "attn_norm.w", {C}));
    LW_ASSIGN_OR_RETURN(w.qkv[0], segment(m, pre + "q", Q, C));
    LW_ASSIGN_OR_RETURN(w.qkv[1], segment(m, pre + "k", KV, C));
    LW_ASSIGN_OR_RETURN(w.qkv[2], segment(m, pre + "v", KV, C));
    w.nqkv = 3;
    LW_ASSIGN_OR_RETURN(w.o, segment(m, pre + "o", C, Q));
    LW_ASSIGN_OR_RETURN(w.norm2_w, weight(m, pre + "mlp_norm.w", {C}));
    LW_ASSIGN_OR_RETURN(w.up[0], segment(m, pre + "gate", F, C));
    LW_ASSIGN_OR_RETURN(w.up[1], segment(m, pre + "up", F, C));
    w.nup = 2;
    LW_ASSIGN_OR_RETURN(w.down, segment(m, pre + "down", C, F));
    a.layers.push_back(w);
  }
  return Status::ok();
}

// One stream per device for every engine, created once: the cuBLASLt workspace that
// prefill's GEMMs attach to a stream then exists once, not once per generate() call.
Result<cudaStream_t> engine_stream() {
  static std::mutex mu;
  static std::map<int, cudaStream_t> streams;
  int dev = 0;
  LW_CUDA_TRY(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(mu);
  cudaStream_t& s = streams[dev];
  if (!s) LW_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

}  // namespace

struct DecodeEngine::Impl {
  models::Model* model = nullptr;
  Arch a;
  DType dtype = DType::kBF16;
  int64_t max_b = 1, P = 1;
  cudaStream_t stream = nullptr;
  Tensor x, qkv, att, mlp, logits, scratch;  // f32 activations
  Tensor kc, vc;                             // [L, maxB, P, KV] model dtype
  Tensor io_dev, ids_dev;  // [tokens | positions] i32 of the step, its greedy ids i32
  Tensor counters;       // [maxB * NH + maxB] i32: attention's, then argmax's combine counters
  Tensor argmax_scratch;  // f32 partial maxima of the vocabulary slices
  // Pinned host memory, mapped: io (2 maxB i32, the host-fed step's upload), then two result
  // slots of [ids (maxB i32) | logprobs (maxB f32)] that the argmax writes directly (no copy
  // node in the graph). Consecutive queued steps use the two slots in turns, so the host
  // reads one step's ids while the next step runs.
  void* pinned = nullptr;
  int32_t* io_host = nullptr;
  int32_t* slot_host[2] = {nullptr, nullptr};
  int32_t* slot_dev[2] = {nullptr, nullptr};  // the same memory as the device sees it
  cudaEvent_t slot_done[2] = {nullptr, nullptr};
  int next_slot = 0;
  struct Queued {
    int slot;
    int64_t n;
  };
  std::deque<Queued> queue;  // launched steps not yet waited for, oldest first (at most 2)
  int last_slot = 0;         // the step greedy_ids() shows
  int64_t last_n = 0;
  // One graph per (batch, fed from the previous step's ids, result slot).
  std::map<std::tuple<int64_t, bool, int>, cudaGraphExec_t> graphs;
  // LW_DECODE_TIMING=1: GPU time of each step (events from its launch to its end: with a
  // step queued ahead, the wait for it is included), the interval between results on the
  // host, and back-to-back replays at the end, printed on stderr when the engine goes (a
  // measuring aid for the decode benchmark).
  bool timing = false;
  cudaEvent_t slot_start[2] = {nullptr, nullptr};
  double gpu_us = 0, interval_us = 0;
  int64_t timed = 0;
  std::chrono::steady_clock::time_point last_result{};
  // LW_DECODE_TRACE=FILE: each kernel's blocks stamp %globaltimer (decode_kernels.h); when the
  // engine goes, the last step's stamps are written to FILE as CSV (a measuring aid).
  std::string trace_path;
  Tensor trace;                     // [kernels, kTraceBlocks, kTraceStamps] u64
  std::vector<std::string> traced;  // the step's kernels, in launch order
  int64_t trace_at = 0;             // the next kernel's index while enqueueing
  uint64_t* trace_slot(const std::string& label) {
    if (trace_path.empty() || trace_at >= max_traced()) return nullptr;
    if (int64_t(traced.size()) <= trace_at) traced.push_back(label);
    return reinterpret_cast<uint64_t*>(trace.data_ptr()) +
           trace_at++ * dk::kTraceBlocks * dk::kTraceStamps;
  }
  int64_t max_traced() const { return 8 + 5 * a.L; }
  void write_trace();

  ~Impl() {
    if (stream) cudaStreamSynchronize(stream);
    if (timing) report_timing();
    if (!trace_path.empty()) write_trace();
    for (cudaEvent_t e : slot_done)
      if (e) cudaEventDestroy(e);
    for (cudaEvent_t e : slot_start)
      if (e) cudaEventDestroy(e);
    for (auto& [n, g] : graphs) cudaGraphExecDestroy(g);
    if (pinned) cudaFreeHost(pinned);
  }
  int64_t qkv_width() const { return (a.NH + 2 * a.NKV) * a.D; }
  int64_t mlp_width() const { return a.llama ? 2 * a.F : a.F; }
  Status allocate();
  Status enqueue(int n, bool chained, int slot);
  Status launch(int n, bool chained);
  Status wait();
  void report_timing();
};

void DecodeEngine::Impl::report_timing() {
  if (timed == 0 || graphs.empty() || !slot_start[0]) return;
  const auto& [key, exec] = *graphs.rbegin();
  // Replays with no host work between them: what the graph costs when launches queue up.
  const int reps = 50;
  cudaEventRecord(slot_start[0], stream);
  for (int i = 0; i < reps; ++i) cudaGraphLaunch(exec, stream);
  cudaEventRecord(slot_start[1], stream);
  cudaEventSynchronize(slot_start[1]);
  float ms = 0.f;
  cudaEventElapsedTime(&ms, slot_start[0], slot_start[1]);
  std::fprintf(stderr,
               "decode timing: batch %lld, %lld steps: graph %.1f us (GPU events), %.1f us "
               "between results (host); back-to-back replays %.1f us\n",
               static_cast<long long>(std::get<0>(key)), static_cast<long long>(timed),
               gpu_us / timed, interval_us / std::max<int64_t>(1, timed - 1), 1e3 * ms / reps);
}

void DecodeEngine::Impl::write_trace() {
  std::vector<uint64_t> host(static_cast<size_t>(trace.numel()));
  if (cudaMemcpy(host.data(), trace.data_ptr(), trace.nbytes(), cudaMemcpyDeviceToHost) !=
      cudaSuccess)
    return;
  const std::string tmp = trace_path + ".tmp";
  {
    std::ofstream f(tmp);
    f << "kernel,label,block,start_ns,waited_ns,ready_ns,end_ns\n";
    for (size_t k = 0; k < traced.size(); ++k)
      for (int blk = 0; blk < dk::kTraceBlocks; ++blk) {
        const uint64_t* t = host.data() + (k * dk::kTraceBlocks + blk) * dk::kTraceStamps;
        if (t[0] == 0) continue;  // no such block
        f << k << ',' << traced[k] << ',' << blk;
        for (int i = 0; i < dk::kTraceStamps; ++i) f << ',' << t[i];
        f << '\n';
      }
    if (!f) {
      std::fprintf(stderr, "decode trace: cannot write %s\n", tmp.c_str());
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, trace_path, ec);
  if (ec) {
    std::fprintf(stderr, "decode trace: cannot rename %s to %s: %s\n", tmp.c_str(),
                 trace_path.c_str(), ec.message().c_str());
    return;
  }
  std::fprintf(stderr, "decode trace: %zu kernels of the last step in %s\n", traced.size(),
               trace_path.c_str());
}

Status DecodeEngine::Impl::allocate() {
  const Device dev = model->device();
  const int64_t B = max_b, KV = a.NKV * a.D;
  LW_ASSIGN_OR_RETURN(x, Tensor::zeros({B, a.C}, DType::kF32, dev));
  LW_ASSIGN_OR_RETURN(qkv, Tensor::zeros({B, qkv_width()}, DType::kF32, dev));
  LW_ASSIGN_OR_RETURN(att, Tensor::zeros({B, a.NH * a.D}, DType::kF32, dev));
  LW_ASSIGN_OR_RETURN(mlp, Tensor::zeros({B, mlp_width()}, DType::kF32, dev));
  LW_ASSIGN_OR_RETURN(logits, Tensor::zeros({B, a.V}, DType::kF32, dev));
  const auto sf = dk::attention_scratch_floats(int(B), int(a.NH), int(a.D), int(P));
  LW_ASSIGN_OR_RETURN(scratch, Tensor::zeros({int64_t(sf)}, DType::kF32, dev));
  LW_ASSIGN_OR_RETURN(kc, Tensor::zeros({a.L, B, P, KV}, dtype, dev));
  LW_ASSIGN_OR_RETURN(vc, Tensor::zeros({a.L, B, P, KV}, dtype, dev));
  LW_ASSIGN_OR_RETURN(io_dev, Tensor::zeros({2 * B}, DType::kI32, dev));
  LW_ASSIGN_OR_RETURN(ids_dev, Tensor::zeros({B}, DType::kI32, dev));
  LW_ASSIGN_OR_RETURN(counters, Tensor::zeros({B * a.NH + B}, DType::kI32, dev));
  const auto af = dk::argmax_scratch_floats(int(B), int(a.V));
  LW_ASSIGN_OR_RETURN(argmax_scratch, Tensor::zeros({int64_t(af)}, DType::kF32, dev));
  LW_ASSIGN_OR_RETURN(stream, engine_stream());
  LW_CUDA_TRY(cudaHostAlloc(&pinned, size_t(6 * B) * 4, cudaHostAllocMapped));
  io_host = static_cast<int32_t*>(pinned);
  for (int64_t i = 0; i < 6 * B; ++i) io_host[i] = 0;
  void* mapped = nullptr;
  LW_CUDA_TRY(cudaHostGetDevicePointer(&mapped, pinned, 0));
  for (int k = 0; k < 2; ++k) {
    slot_host[k] = io_host + (2 + 2 * k) * B;
    slot_dev[k] = static_cast<int32_t*>(mapped) + (2 + 2 * k) * B;
  }
  LW_CUDA_TRY(cudaDeviceSynchronize());  // the zero fills ran on the caller's stream
  if (const char* tp = std::getenv("LW_DECODE_TRACE"); tp && *tp) {
    trace_path = tp;
    LW_ASSIGN_OR_RETURN(trace, Tensor::zeros({max_traced() * dk::kTraceBlocks * dk::kTraceStamps},
                                             DType::kI64, dev));
  }
  const char* t = std::getenv("LW_DECODE_TIMING");
  timing = t && std::string(t) == "1";
  for (int k = 0; k < 2; ++k) {
    LW_CUDA_TRY(cudaEventCreateWithFlags(&slot_done[k], timing ? 0 : cudaEventDisableTiming));
    if (timing) LW_CUDA_TRY(cudaEventCreate(&slot_start[k]));
  }
  return Status::ok();
}

namespace {
// LW_DECODE_SWIGLU=input: SwiGLU applied by the down projection as it loads its input (the
// way before the gate/up epilogue did it).
bool swiglu_pair() {
  static const bool on = [] {
    const char* v = std::getenv("LW_DECODE_SWIGLU");
    return !(v && std::string(v) == "input");
  }();
  return on;
}
}  // namespace

// One decode step for sequences [0, n) on `stream`: pure stream work (graph-capturable). Its
// input comes from io_host (uploaded) or, `chained`, from the previous step's greedy ids at
// the next positions (its argmax leaves them in io_dev); its greedy ids and
// log-probabilities go to result slot `slot`.
Status DecodeEngine::Impl::enqueue(int n, bool chained, int slot) {
  const int64_t B = max_b, C = a.C, Q = a.NH * a.D, KV = a.NKV * a.D, QKV = qkv_width();
  static const bool combine_in_gemv = [] {
    const char* v = std::getenv("LW_DECODE_COMBINE");
    return v && std::string(v) == "gemv";
  }();
  if (!chained)  // (a chained step's input was left in io_dev by the previous step's argmax)
    LW_CUDA_TRY(cudaMemcpyAsync(io_dev.data_ptr(), io_host, size_t(2 * B) * 4,
                                cudaMemcpyHostToDevice, stream));
  const int32_t* tokens = io_dev.data<int32_t>();
  const int32_t* pos = tokens + B;
  float* xp = x.data<float>();
  trace_at = 0;
  LW_TRY(dk::embed(dtype, xp, a.wte, a.wpe, tokens, pos, n, int(C), stream, trace_slot("embed")));
  const dk::InputOp norm = a.llama ? dk::InputOp::kRmsNorm : dk::InputOp::kLayerNorm;
  const int64_t seq_stride = P * KV;
  for (int64_t l = 0; l < a.L; ++l) {
    const LayerWeights& w = a.layers[l];
    char* kl = static_cast<char*>(kc.data_ptr()) + l * B * seq_stride * dtype_size(dtype);
    char* vl = static_cast<char*>(vc.data_ptr()) + l * B * seq_stride * dtype_size(dtype);
    dk::GemvArgs g;
    g.dtype = dtype, g.x = xp, g.ldx = int(C), g.B = n, g.K = int(C), g.input = norm;
    g.norm_w = w.norm1_w, g.norm_b = w.norm1_b, g.eps = a.eps;
    for (int s = 0; s < w.nqkv; ++s) g.seg[s] = w.qkv[s];
    g.nseg = w.nqkv, g.y = qkv.data<float>(), g.ldy = int(QKV), g.output = dk::OutputOp::kStore;
    const std::string layer = std::to_string(l);
    g.trace = trace_slot("qkv" + layer);
    LW_TRY(dk::gemv(g, stream));
    // The attention kernel's last block per head combines the chunk partials; with
    // LW_DECODE_COMBINE=gemv the o-projection does as it loads its input instead (measured
    // on the H100: +1.5% for GPT-2 at batch 1, -4.5% for TinyLlama, slower for batches).
    LW_TRY(dk::attention(dtype, qkv.data<float>(), int(QKV), kl, vl, seq_stride, pos, n,
                         int(a.NH), int(a.NKV), int(a.D), int(P), a.theta, scratch.data<float>(),
                         combine_in_gemv ? nullptr : counters.data<int32_t>(), att.data<float>(),
                         stream, trace_slot("attn" + layer)));
    dk::GemvArgs o;
    o.dtype = dtype, o.x = att.data<float>(), o.ldx = int(Q), o.B = n, o.K = int(Q);
    o.seg[0] = w.o, o.nseg = 1, o.y = xp, o.ldy = int(C), o.output = dk::OutputOp::kAccumulate;
    o.trace = trace_slot("o" + layer);
    if (combine_in_gemv) {
      o.input = dk::InputOp::kAttention, o.attn_part = scratch.data<float>(), o.positions = pos;
      o.heads = int(a.NH), o.head_dim = int(a.D);
      o.chunk = dk::attention_chunk(int(P)), o.nsplit = dk::attention_split(int(P));
    }
    LW_TRY(dk::gemv(o, stream));
    dk::GemvArgs u = g;
    u.norm_w = w.norm2_w, u.norm_b = w.norm2_b;
    for (int s = 0; s < w.nup; ++s) u.seg[s] = w.up[s];
    u.nseg = w.nup, u.y = mlp.data<float>(), u.ldy = int(mlp_width()), u.output = a.mlp_act;
    // SwiGLU in the gate/up launch's epilogue where it can (no MLP biases, 16-byte rows): the
    // down projection then reads F values a sequence, not 2F.
    const bool pair = swiglu_pair() && a.llama && !w.up[0].bias && !w.up[1].bias &&
                      a.C % (16 / int64_t(dtype_size(dtype))) == 0;
    if (pair) u.output = dk::OutputOp::kSwigluPair;
    u.trace = trace_slot("up" + layer);
    LW_TRY(dk::gemv(u, stream));
    dk::GemvArgs d;
    d.dtype = dtype, d.x = mlp.data<float>(), d.ldx = int(mlp_width()), d.B = n, d.K = int(a.F);
    d.input = a.llama && !pair ? dk::InputOp::kSwiglu : dk::InputOp::kNone;
    d.seg[0] = w.down, d.nseg = 1, d.y = xp, d.ldy = int(C), d.output = dk::OutputOp::kAccumulate;
    d.trace = trace_slot("down" + layer);
    LW_TRY(dk::gemv(d, stream));
  }
  dk::GemvArgs h;
  h.dtype = dtype, h.x = xp, h.ldx = int(C), h.B = n, h.K = int(C), h.input = norm;
  h.norm_w = a.final_w, h.norm_b = a.final_b, h.eps = a.eps;
  h.seg[0] = {a.head, nullptr, int(a.V)}, h.nseg = 1;
  h.y = logits.data<float>(), h.ldy = int(a.V), h.output = dk::OutputOp::kStore;
  h.trace = trace_slot("head");
  LW_TRY(dk::gemv(h, stream));
  LW_TRY(dk::argmax_logprob(logits.data<float>(), n, int(a.V), argmax_scratch.data<float>(),
                            counters.data<int32_t>() + B * a.NH, ids_dev.data<int32_t>(),
                            reinterpret_cast<float*>(slot_dev[slot] + B), stream,
                            trace_slot("argmax"), slot_dev[slot],
                            dk::NextInput{io_dev.data<int32_t>(), int(B), int(P)}));
  return Status::ok();
}

// Queues one step (a graph replay; the first of each kind runs eagerly, its results this
// step's, and is then captured for the following ones).
Status DecodeEngine::Impl::launch(int n, bool chained) {
  LW_CHECK(queue.size() < 2, "decode engine: two steps are queued already; wait() first");
  const int slot = next_slot;
  const auto key = std::make_tuple(int64_t(n), chained, slot);
  if (timing) LW_CUDA_TRY(cudaEventRecord(slot_start[slot], stream));
  if (auto it = graphs.find(key); it != graphs.end()) {
    LW_CUDA_TRY(cudaGraphLaunch(it->second, stream));
  } else {
    LW_TRY(enqueue(n, chained, slot));
    LW_CUDA_TRY(cudaStreamSynchronize(stream));
    LW_CUDA_TRY(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    Status st = enqueue(n, chained, slot);
    cudaGraph_t graph = nullptr;
    cudaError_t end = cudaStreamEndCapture(stream, &graph);
    if (!st.is_ok()) {
      if (graph) cudaGraphDestroy(graph);
      return st;
    }
    LW_CUDA_TRY(end);
    cudaGraphExec_t exec = nullptr;
    cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    LW_CUDA_TRY(inst);
    graphs[key] = exec;
  }
  LW_CUDA_TRY(cudaEventRecord(slot_done[slot], stream));
  queue.push_back({slot, n});
  next_slot ^= 1;
  return Status::ok();
}

Status DecodeEngine::Impl::wait() {
  LW_CHECK(!queue.empty(), "decode engine: no step is queued");
  const Queued q = queue.front();
  queue.pop_front();
  LW_CUDA_TRY(cudaEventSynchronize(slot_done[q.slot]));
  last_slot = q.slot;
  last_n = q.n;
  if (timing) {
    const auto now = std::chrono::steady_clock::now();
    float ms = 0.f;
    LW_CUDA_TRY(cudaEventElapsedTime(&ms, slot_start[q.slot], slot_done[q.slot]));
    gpu_us += 1e3 * ms;
    if (timed > 0) interval_us += std::chrono::duration<double, std::micro>(now - last_result).count();
    last_result = now;
    ++timed;
  }
  return Status::ok();
}
#else
struct DecodeEngine::Impl {};
#endif  // LW_WITH_CUDA

DecodeEngine::DecodeEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DecodeEngine::~DecodeEngine() = default;

Result<std::unique_ptr<DecodeEngine>> DecodeEngine::create(models::Model& model,
                                                           int64_t max_batch, int64_t capacity) {
#if LW_WITH_CUDA
  if (!model.device().is_cuda()) return unsupported("the decode engine runs on CUDA devices");
  const DType dt = model.dtype();
  if (dt != DType::kF32 && dt != DType::kBF16 && dt != DType::kF16)
    return unsupported(std::string("the decode engine has no path for dtype ") + dtype_name(dt));
  if (model.head() != models::Head::kCausalLm)
    return unsupported(model.architecture() + " has no language-model head");
  auto impl = std::make_unique<Impl>();
  impl->model = &model;
  impl->dtype = dt;
  if (model.family() == "gpt2") {
    LW_TRY(read_gpt2(model, impl->a));
  } else if (models::is_llama_family(model.architecture(), model.family())) {
    LW_TRY(read_llama(model, impl->a));
  } else {
    return unsupported("the decode engine has no graph for " + model.architecture());
  }
  LW_ASSIGN_OR_RETURN(models::KvLayout layout, model.kv_layout());
  LW_CHECK(max_batch >= 1 && capacity >= 1 && capacity <= layout.max_positions,
           "decode engine: batch " + std::to_string(max_batch) + " and capacity " +
               std::to_string(capacity) + " must be in [1, " +
               std::to_string(layout.max_positions) + "]");
  if (impl->a.sliding_window > 0 && capacity > impl->a.sliding_window)
    return unsupported("the decode engine has no sliding-window attention");
  if (impl->a.D % 2 != 0 || impl->a.NH % impl->a.NKV != 0)
    return unsupported("the decode engine needs an even head size and NH % NKV == 0");
  impl->max_b = max_batch;
  impl->P = capacity;
  LW_TRY(impl->allocate());
  return std::unique_ptr<DecodeEngine>(new DecodeEngine(std::move(impl)));
#else
  return unsupported("this build has no CUDA: the decode engine is not available");
#endif
}

#if LW_WITH_CUDA
int64_t DecodeEngine::max_batch() const { return impl_->max_b; }
int64_t DecodeEngine::capacity() const { return impl_->P; }
int64_t DecodeEngine::vocab() const { return impl_->a.V; }
size_t DecodeEngine::kv_cache_bytes() const { return impl_->kc.nbytes() + impl_->vc.nbytes(); }
size_t DecodeEngine::weight_bytes() const {
  return size_t(impl_->model->num_parameters()) * dtype_size(impl_->dtype);
}

Result<Tensor> DecodeEngine::prefill(int64_t b, std::span<const int32_t> ids) {
  Impl& m = *impl_;
  const int64_t n = static_cast<int64_t>(ids.size());
  LW_CHECK(b >= 0 && b < m.max_b, "decode engine: sequence " + std::to_string(b) +
                                      " is outside the batch of " + std::to_string(m.max_b));
  LW_CHECK(n >= 1 && n <= m.P, "decode engine: a prompt of " + std::to_string(n) +
                                   " tokens does not fit the cache of " + std::to_string(m.P));
  std::vector<models::KvLayer> layers(static_cast<size_t>(m.a.L));
  for (int64_t l = 0; l < m.a.L; ++l) {
    LW_ASSIGN_OR_RETURN(Tensor kl, m.kc.select(0, l));
    LW_ASSIGN_OR_RETURN(Tensor vl, m.vc.select(0, l));
    LW_ASSIGN_OR_RETURN(layers[l].k, kl.select(0, b));
    LW_ASSIGN_OR_RETURN(layers[l].v, vl.select(0, b));
  }
  // The model's ops run on this engine's stream, so prefill and steps stay in order.
  const cudaStream_t prev = cuda::current_stream();
  cuda::set_current_stream(m.stream);
  auto run = [&]() -> Result<Tensor> {
    LW_ASSIGN_OR_RETURN(Tensor t, Tensor::from_ints(ids, {1, n}, m.model->device()));
    LW_ASSIGN_OR_RETURN(Tensor logits, m.model->forward_cached(t, 0, layers));
    LW_CUDA_TRY(cudaStreamSynchronize(m.stream));
    return logits;
  };
  Result<Tensor> r = run();
  cuda::set_current_stream(prev);
  return r;
}

Status DecodeEngine::launch(std::span<const int32_t> tokens, std::span<const int32_t> positions) {
  Impl& m = *impl_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  LW_CHECK(m.queue.empty(), "decode engine: launch() needs no step queued (wait() first)");
  LW_CHECK(n >= 1 && n <= m.max_b && positions.size() == tokens.size(),
           "decode engine: a step takes 1.." + std::to_string(m.max_b) +
               " tokens with one position each");
  for (int64_t b = 0; b < n; ++b) {
    LW_CHECK(tokens[b] >= 0 && tokens[b] < m.a.V,
             "decode engine: token id " + std::to_string(tokens[b]) + " is outside the vocabulary");
    LW_CHECK(positions[b] >= 0 && positions[b] < m.P,
             "decode engine: position " + std::to_string(positions[b]) +
                 " is outside the cache of " + std::to_string(m.P));
    m.io_host[b] = tokens[b];
    m.io_host[m.max_b + b] = positions[b];
  }
  return m.launch(static_cast<int>(n), /*chained=*/false);
}

Status DecodeEngine::launch_next() {
  Impl& m = *impl_;
  LW_CHECK(!m.queue.empty(), "decode engine: launch_next() follows a launched step");
  return m.launch(static_cast<int>(m.queue.back().n), /*chained=*/true);
}

Status DecodeEngine::wait() { return impl_->wait(); }

int DecodeEngine::queued() const { return static_cast<int>(impl_->queue.size()); }

Status DecodeEngine::drain() {
  while (!impl_->queue.empty()) LW_TRY(impl_->wait());
  return Status::ok();
}

Status DecodeEngine::step(std::span<const int32_t> tokens, std::span<const int32_t> positions) {
  LW_TRY(launch(tokens, positions));
  return wait();
}

std::span<const int32_t> DecodeEngine::greedy_ids() const {
  return {impl_->slot_host[impl_->last_slot], static_cast<size_t>(impl_->last_n)};
}
std::span<const float> DecodeEngine::greedy_logprobs() const {
  return {reinterpret_cast<const float*>(impl_->slot_host[impl_->last_slot] + impl_->max_b),
          static_cast<size_t>(impl_->last_n)};
}

Status DecodeEngine::logits_row(int64_t b, std::vector<float>& out) {
  Impl& m = *impl_;
  LW_CHECK(m.queue.empty(), "decode engine: logits_row() with a step still queued");
  LW_CHECK(b >= 0 && b < m.last_n, "decode engine: no logits for sequence " + std::to_string(b));
  out.resize(static_cast<size_t>(m.a.V));
  LW_CUDA_TRY(cudaMemcpyAsync(out.data(), m.logits.data<float>() + b * m.a.V,
                              size_t(m.a.V) * 4, cudaMemcpyDeviceToHost, m.stream));
  LW_CUDA_TRY(cudaStreamSynchronize(m.stream));
  return Status::ok();
}
#else
int64_t DecodeEngine::max_batch() const { return 0; }
int64_t DecodeEngine::capacity() const { return 0; }
int64_t DecodeEngine::vocab() const { return 0; }
size_t DecodeEngine::kv_cache_bytes() const { return 0; }
size_t DecodeEngine::weight_bytes() const { return 0; }
Result<Tensor> DecodeEngine::prefill(int64_t, std::span<const int32_t>) {
  return unsupported("this build has no CUDA: the decode engine is not available");
}
Status DecodeEngine::step(std::span<const int32_t>, std::span<const int32_t>) {
  return unsupported("this build has no CUDA: the decode engine is not available");
}
Status DecodeEngine::launch(std::span<const int32_t>, std::span<const int32_t>) {
  return unsupported("this build has no CUDA: the decode engine is not available");
}
Status DecodeEngine::launch_next() {
  return unsupported("this build has no CUDA: the decode engine is not available");
}
Status DecodeEngine::wait() {
  return unsupported("this build has no CUDA: the decode engine is not available");
}
int DecodeEngine::queued() const { return 0; }
Status DecodeEngine::drain() { return Status::ok(); }
std::span<const int32_t> DecodeEngine::greedy_ids() const { return {}; }
std::span<const float> DecodeEngine::greedy_logprobs() const { return {}; }
Status DecodeEngine::logits_row(int64_t, std::vector<float>&) {
  return unsupported("this build has no CUDA: the decode engine is not available");
}
#endif

}  // namespace lw
