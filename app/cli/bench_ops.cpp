// The workloads of `llmwb bench ops` (see cmd_bench.cpp): each op runs on its own
// stream with random bf16 inputs, timed with CUDA events around every run (warm-up
// first, median reported). FLOP counts: 2*M*N*K per GEMM; attention 4*B*H*T*T*D
// forward (half when causal) and 2.5x that for backward (FlashAttention's convention).
// Bytes: what the op must read and write at least, so GB/s compares with a copy.
#if LW_WITH_CUDA
#include "app/cli/bench_ops.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "engine/backend/cuda/cuda_kernels.h"
#include "engine/core/dtype.h"

namespace lwbench {
namespace {

using lw::DType;
using lw::Status;
namespace cuda = lw::cuda;
constexpr DType kBf16 = DType::kBF16;

struct Row {
  std::string model, op, pass, shape;
  double us = 0, tflops = 0, gbps = 0;
  std::string anchor;  // hf_anchor.py key for the same workload ("" when none)
  std::string error;
};

// Device buffers of one workload, filled with random values, freed together.
class Buffers {
 public:
  ~Buffers() {
    for (void* p : ptrs_) cudaFree(p);
  }
  void* get(size_t bytes, bool random = true) {
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();
      std::fprintf(stderr, "llmwb bench: cudaMalloc of %zu bytes failed\n", bytes);
      return nullptr;
    }
    ptrs_.push_back(p);
    if (random) fill(p, bytes);
    return p;
  }
  template <typename T> T* as(size_t count, bool random = true) {
    return static_cast<T*>(get(count * sizeof(T), random));
  }

 private:
  // bf16 values in about [-1, 1): a 16 MiB host pattern copied over the buffer.
  static void fill(void* p, size_t bytes) {
    static std::vector<uint16_t> pattern = [] {
      std::vector<uint16_t> v(8u << 20);
      uint32_t s = 12345;
      for (auto& x : v) {
        s = s * 1664525u + 1013904223u;
        x = lw::f32_to_bf16_bits((static_cast<float>(s >> 8) / 16777216.f - 0.5f) * 2.f);
      }
      return v;
    }();
    const size_t chunk = pattern.size() * 2;
    for (size_t off = 0; off < bytes; off += chunk)
      cudaMemcpy(static_cast<char*>(p) + off, pattern.data(), std::min(chunk, bytes - off),
                 cudaMemcpyHostToDevice);
  }
  std::vector<void*> ptrs_;
};

class Runner {
 public:
  Runner(const Options& o, cudaStream_t s) : opt_(o), stream_(s) {}
  std::vector<Row> rows;

  // Times fn (which launches on stream_) and appends a row.
  void run(Row row, double flops, double bytes, const std::function<Status()>& fn) {
    const std::string name = row.model + " " + row.op + " " + row.pass;
    if (!opt_.only.empty() && name.find(opt_.only) == std::string::npos) return;
    std::vector<float> ms;
    Status st = Status::ok();
    for (int i = 0; i < opt_.warmup && st.is_ok(); ++i) st = fn();
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    for (int i = 0; i < opt_.iters && st.is_ok(); ++i) {
      cudaEventRecord(a, stream_);
      st = fn();
      cudaEventRecord(b, stream_);
      cudaEventSynchronize(b);
      float t = 0;
      cudaEventElapsedTime(&t, a, b);
      ms.push_back(t);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    cudaError_t e = cudaStreamSynchronize(stream_);
    if (st.is_ok() && e != cudaSuccess) st = Status(lw::StatusCode::kDeviceError, cudaGetErrorString(e));
    if (!st.is_ok()) {
      row.error = st.to_string();
    } else {
      std::sort(ms.begin(), ms.end());
      const double sec = ms[ms.size() / 2] / 1e3;
      row.us = sec * 1e6;
      if (flops > 0) row.tflops = flops / sec / 1e12;
      if (bytes > 0) row.gbps = bytes / sec / 1e9;
    }
    rows.push_back(row);
  }

  cudaStream_t stream() const { return stream_; }

 private:
  const Options& opt_;
  cudaStream_t stream_;
};

// A Linear layer y = x W^T + b (W [out, in], PyTorch's layout): forward with its fused
// epilogue, backward data (dx = dy W) and backward weight (dW += dy^T x).
void linear(Runner& r, const std::string& model, const std::string& name, int M, int in, int out,
            cuda::Epilogue epi) {
  Buffers buf;
  void* x = buf.get(size_t{2} * M * in);
  void* w = buf.get(size_t{2} * out * in);
  void* bias = buf.get(size_t{2} * out);
  void* y = buf.get(size_t{2} * M * out, false);
  void* aux = epi == cuda::Epilogue::kBiasGeluAux ? buf.get(size_t{2} * M * out, false) : nullptr;
  void* dy = buf.get(size_t{2} * M * out);
  void* dx = buf.get(size_t{2} * M * in, false);
  void* dw = buf.get(size_t{2} * out * in);
  if (!x || !w || !bias || !y || !dy || !dx || !dw) return;
  const double flops = 2.0 * M * in * out;
  const std::string shape = std::to_string(M) + "x" + std::to_string(in) + "->" + std::to_string(out);
  cudaStream_t s = r.stream();
  r.run({model, name, "fwd", shape}, flops, 0, [=] {
    return cuda::gemm_epilogue(kBf16, false, true, M, out, in, 1.f, x, in, 0, w, in, 0, 0.f, y, out, 0, 1,
                               epi, bias, aux, s);
  });
  r.run({model, name, "bwd_data", shape}, flops, 0, [=] {
    return cuda::gemm(kBf16, false, false, M, in, out, 1.f, dy, out, 0, w, in, 0, 0.f, dx, in, 0, 1, s);
  });
  r.run({model, name, "bwd_weight", shape}, flops, 0, [=] {
    return cuda::gemm(kBf16, true, false, out, in, M, 1.f, dy, out, 0, x, in, 0, 1.f, dw, in, 0, 1, s);
  });
}

void attention(Runner& r, const std::string& model, int B, int H, int T, int D, bool causal, bool mask) {
  Buffers buf;
  const size_t n = size_t{B} * H * T * D;
  void *q = buf.get(2 * n), *k = buf.get(2 * n), *v = buf.get(2 * n), *o = buf.get(2 * n, false);
  void *dout = buf.get(2 * n), *dq = buf.get(2 * n, false), *dk = buf.get(2 * n, false), *dv = buf.get(2 * n, false);
  float* lse = buf.as<float>(size_t{B} * H * T, false);
  const lw::cpu::AttentionShape s{B, H, H, T, D, causal, 1.f / std::sqrt(static_cast<float>(D)), 0};
  const size_t wb = cuda::attention_backward_workspace_bytes(s);
  void* ws = buf.get(wb, false);
  int32_t* m = nullptr;
  if (mask) {  // every sequence padded by an eighth: the BERT fine-tuning case
    std::vector<int32_t> h(size_t{B} * T, 1);
    for (int b = 0; b < B; ++b)
      for (int j = T - T / 8; j < T; ++j) h[size_t{b} * T + j] = 0;
    m = buf.as<int32_t>(h.size(), false);
    cudaMemcpy(m, h.data(), h.size() * 4, cudaMemcpyHostToDevice);
  }
  if (!q || !k || !v || !o || !dout || !dq || !dk || !dv || !lse || !ws) return;
  const double fwd = 4.0 * B * H * double(T) * T * D * (causal ? 0.5 : 1.0);
  const std::string tag = causal ? "causal" : "bidir";
  const std::string shape = "B" + std::to_string(B) + " H" + std::to_string(H) + " T" + std::to_string(T) +
                            " D" + std::to_string(D) + " " + tag + (mask ? " mask" : "");
  const bool gpt = model == "gpt2";
  cudaStream_t st = r.stream();
  auto f = [=] { return cuda::attention_forward(kBf16, o, lse, nullptr, q, k, v, m, s, st); };
  auto b = [=] {
    return cuda::attention_backward(kBf16, dq, dk, dv, dout, q, k, v, o, lse, m, s, ws, wb, st);
  };
  r.run({model, "attention", "fwd", shape, 0, 0, 0, gpt ? "sdpa_fwd_b16_h12_t1024_d64_" + tag + "_us" : ""},
        fwd, 0, f);
  r.run({model, "attention", "bwd", shape}, 2.5 * fwd, 0, b);
  r.run({model, "attention", "fwd+bwd", shape, 0, 0, 0, gpt ? "sdpa_fwd_bwd_b16_h12_t1024_d64_" + tag + "_us" : ""},
        3.5 * fwd, 0, [=] {
          LW_TRY(f());
          return b();
        });
}

void norms(Runner& r, const std::string& model, int N, int C, bool anchor_rows) {
  Buffers buf;
  const size_t n = size_t{N} * C;
  void *x = buf.get(2 * n), *res = buf.get(2 * n), *y = buf.get(2 * n, false), *sum = buf.get(2 * n, false);
  void *w = buf.get(2 * C), *b = buf.get(2 * C), *dy = buf.get(2 * n), *dx = buf.get(2 * n, false);
  void *dw = buf.get(2 * C), *db = buf.get(2 * C);
  float *mean = buf.as<float>(N, false), *rstd = buf.as<float>(N, false);
  const size_t sb = cuda::norm_backward_scratch_bytes(N, C);
  float* scratch = static_cast<float*>(buf.get(sb, false));
  if (!x || !res || !y || !sum || !dy || !dx || !scratch) return;
  const std::string shape = std::to_string(N) + "x" + std::to_string(C);
  cudaStream_t s = r.stream();
  r.run({model, "layernorm", "fwd", shape, 0, 0, 0, anchor_rows ? "layernorm_16k_x768_bf16_us" : ""}, 0,
        4.0 * n + 8.0 * N,
        [=] { return cuda::layernorm_forward(kBf16, y, mean, rstd, x, w, b, N, C, 1e-5f, s); });
  r.run({model, "layernorm", "bwd", shape}, 0, 6.0 * n + 8.0 * N, [=] {
    return cuda::layernorm_backward(kBf16, dx, dw, db, dy, x, w, mean, rstd, N, C, scratch, sb, s);
  });
  r.run({model, "residual_layernorm", "fwd", shape}, 0, 8.0 * n + 8.0 * N, [=] {
    return cuda::residual_layernorm_forward(kBf16, sum, y, mean, rstd, x, res, w, b, N, C, 1e-5f, s);
  });
  r.run({model, "residual_add", "fwd", shape}, 0, 6.0 * n,
        [=] { return cuda::add(kBf16, sum, x, res, static_cast<int64_t>(n), s); });
  r.run({model, "dropout", "fwd", shape + " p0.1"}, 0, 4.0 * n,
        [=] { return cuda::dropout_forward(kBf16, y, x, static_cast<int64_t>(n), 0.1f, 7, 0, s); });
}

void activations(Runner& r, const std::string& model, int N, int C, bool anchor_rows) {
  Buffers buf;
  const size_t n = size_t{N} * C;
  void *x = buf.get(2 * n), *y = buf.get(2 * n, false), *dy = buf.get(2 * n), *dx = buf.get(2 * n, false);
  void* bias = buf.get(2 * C);
  if (!x || !y || !dy || !dx || !bias) return;
  const std::string shape = std::to_string(N) + "x" + std::to_string(C);
  const auto tanh_kind = lw::cpu::GeluKind::kTanh;
  cudaStream_t s = r.stream();
  r.run({model, "gelu_tanh", "fwd", shape, 0, 0, 0, anchor_rows ? "gelu_16k_x768_bf16_us" : ""}, 0, 4.0 * n,
        [=] { return cuda::gelu_forward(kBf16, y, x, static_cast<int64_t>(n), tanh_kind, s); });
  r.run({model, "gelu_tanh", "bwd", shape}, 0, 6.0 * n,
        [=] { return cuda::gelu_backward(kBf16, dx, dy, x, static_cast<int64_t>(n), tanh_kind, s); });
  r.run({model, "bias_gelu", "fwd", shape}, 0, 4.0 * n,
        [=] { return cuda::bias_gelu_forward(kBf16, y, x, bias, N, C, tanh_kind, s); });
}

void softmax_ce(Runner& r, const std::string& model, int64_t rows, int cols, int N, int V) {
  Buffers buf;
  if (rows > 0) {
    const size_t n = size_t(rows) * cols;
    void *x = buf.get(2 * n), *y = buf.get(2 * n, false), *dy = buf.get(2 * n), *dx = buf.get(2 * n, false);
    if (!x || !y || !dy || !dx) return;
    const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
    cudaStream_t s = r.stream();
    r.run({model, "softmax", "fwd", shape, 0, 0, 0, "softmax_768x512x512_bf16_us"}, 0, 4.0 * n,
          [=] { return cuda::softmax_forward(kBf16, y, x, rows, cols, s); });
    r.run({model, "softmax", "bwd", shape}, 0, 6.0 * n,
          [=] { return cuda::softmax_backward(kBf16, dx, dy, y, rows, cols, s); });
  }
  Buffers ce;
  const size_t n = size_t{N} * V;
  void *logits = ce.get(2 * n), *dlogits = ce.get(2 * n, false);
  float *losses = ce.as<float>(N, false), *lse = ce.as<float>(N, false);
  int32_t* tg = ce.as<int32_t>(N, false);
  if (!logits || !dlogits || !tg) return;
  std::vector<int32_t> h(N);
  for (int i = 0; i < N; ++i) h[i] = static_cast<int32_t>((i * 7919ll) % V);
  cudaMemcpy(tg, h.data(), h.size() * 4, cudaMemcpyHostToDevice);
  const std::string shape = std::to_string(N) + "x" + std::to_string(V);
  cudaStream_t s = r.stream();
  r.run({model, "cross_entropy", "fwd", shape}, 0, 2.0 * n,
        [=] { return cuda::cross_entropy_forward(kBf16, losses, lse, logits, tg, N, V, -100, 0.f, s); });
  r.run({model, "cross_entropy", "bwd", shape}, 0, 4.0 * n, [=] {
    return cuda::cross_entropy_backward(kBf16, dlogits, logits, lse, tg, N, V, -100, 0.f, 1.f / N, s);
  });
}

void embedding_adamw(Runner& r, const std::string& model, int N, int C, int V, int64_t params) {
  {
    Buffers buf;
    void *table = buf.get(size_t{2} * V * C), *y = buf.get(size_t{2} * N * C, false), *dy = buf.get(size_t{2} * N * C);
    int32_t* ids = buf.as<int32_t>(N, false);
    if (!table || !y || !dy || !ids) return;
    std::vector<int32_t> h(N);
    for (int i = 0; i < N; ++i) h[i] = static_cast<int32_t>((i * 7919ll) % V);
    cudaMemcpy(ids, h.data(), h.size() * 4, cudaMemcpyHostToDevice);
    const std::string shape = std::to_string(N) + "x" + std::to_string(C) + " V" + std::to_string(V);
    cudaStream_t s = r.stream();
    r.run({model, "embedding", "fwd", shape}, 0, 4.0 * N * C,
          [=] { return cuda::embedding_forward(kBf16, y, table, ids, N, C, s); });
    r.run({model, "embedding", "bwd", shape}, 0, 6.0 * N * C,
          [=] { return cuda::embedding_backward(kBf16, table, dy, ids, N, C, V, s); });
  }
  if (params <= 0) return;
  Buffers buf;
  float *p = buf.as<float>(params), *m = buf.as<float>(params, false), *v = buf.as<float>(params, false);
  void *g = buf.get(2 * size_t(params)), *copy = buf.get(2 * size_t(params), false);
  if (!p || !m || !v || !g || !copy) return;
  cudaMemset(m, 0, 4 * size_t(params));
  cudaMemset(v, 0, 4 * size_t(params));
  cudaStream_t s = r.stream();
  // f32 param, m, v read+written, bf16 grad read, bf16 working copy written: 28 B/param.
  r.run({model, "adamw", "step", std::to_string(params) + " params"}, 0, 28.0 * params, [=] {
    cuda::AdamWArgs a{1e-4f, 0.9f, 0.999f, 1e-8f, 0.1f, 1, 1.f};
    return cuda::adamw_step(p, kBf16, g, m, v, params, a, kBf16, copy, s);
  });
}

void ceilings(Runner& r) {
  {
    Buffers buf;
    const size_t bytes = size_t{1} << 30;
    void *a = buf.get(bytes, false), *b = buf.get(bytes, false);
    if (!a || !b) return;
    cudaStream_t s = r.stream();
    r.run({"device", "copy_d2d", "-", "1 GiB", 0, 0, 0, "hbm_copy_tbps_read_plus_write"}, 0, 2.0 * bytes, [=] {
      cudaError_t e = cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s);
      return e == cudaSuccess ? Status::ok() : Status(lw::StatusCode::kDeviceError, cudaGetErrorString(e));
    });
  }
  Buffers buf;
  const int n = 8192;
  void *a = buf.get(size_t{2} * n * n), *b = buf.get(size_t{2} * n * n), *c = buf.get(size_t{2} * n * n, false);
  if (!a || !b || !c) return;
  cudaStream_t s = r.stream();
  r.run({"device", "gemm_bf16", "-", "8192^3", 0, 0, 0, "bf16_gemm_8192_tflops"}, 2.0 * n * n * double(n), 0,
        [=] { return cuda::gemm(kBf16, false, false, n, n, n, 1.f, a, n, 0, b, n, 0, 0.f, c, n, 0, 1, s); });
}

std::string device_line(const cuda::DeviceInfo& d) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "device: %s, sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB, driver %d.%d, runtime %d.%d",
                d.name, d.major, d.minor, d.sm_count, d.total_memory / 1073741824.0, d.l2_bytes / 1048576.0,
                d.driver_version / 1000, d.driver_version % 1000 / 10, d.runtime_version / 1000,
                d.runtime_version % 1000 / 10);
  return buf;
}

}  // namespace

int run_ops(const Options& opt, const nlohmann::json& anchor) {
  if (cuda::device_count() == 0) {
    std::fprintf(stderr, "llmwb bench: no CUDA device found\n");
    return 1;
  }
  cuda::DeviceInfo info;
  if (Status st = cuda::device_info(0, &info); !st.is_ok()) {
    std::fprintf(stderr, "llmwb bench: %s\n", st.to_string().c_str());
    return 1;
  }
  if (opt.device_info_only) {
    std::printf("%s\n", device_line(info).c_str());
    return 0;
  }
  cudaStream_t stream;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (Status st = cuda::gemm_prepare(stream); !st.is_ok()) {
    std::fprintf(stderr, "llmwb bench: %s\n", st.to_string().c_str());
    return 1;
  }
  Runner r(opt, stream);
  ceilings(r);
  // GPT-2 124M training step shapes: B=16, T=1024, C=768, NH=12, V=50257.
  const int gN = 16 * 1024, C = 768;
  linear(r, "gpt2", "linear_qkv", gN, C, 3 * C, cuda::Epilogue::kBias);
  linear(r, "gpt2", "linear_attn_proj", gN, C, C, cuda::Epilogue::kBias);
  linear(r, "gpt2", "linear_fc_gelu", gN, C, 4 * C, cuda::Epilogue::kBiasGeluAux);
  linear(r, "gpt2", "linear_fc_proj", gN, 4 * C, C, cuda::Epilogue::kBias);
  linear(r, "gpt2", "lm_head", gN, C, 50257, cuda::Epilogue::kNone);
  attention(r, "gpt2", 16, 12, 1024, 64, false, false);
  attention(r, "gpt2", 16, 12, 1024, 64, true, false);
  norms(r, "gpt2", gN, C, true);
  activations(r, "gpt2", gN, C, true);
  activations(r, "gpt2", gN, 4 * C, false);
  softmax_ce(r, "gpt2", int64_t{64} * 12 * 512, 512, gN, 50257);
  embedding_adamw(r, "gpt2", gN, C, 50257, 124439808);
  // BERT-base fine-tuning shapes: B=32, T=128, C=768, V=30522 (MLM head over every token).
  const int bN = 32 * 128;
  linear(r, "bert", "linear_qkv", bN, C, 3 * C, cuda::Epilogue::kBias);
  linear(r, "bert", "linear_fc_gelu", bN, C, 4 * C, cuda::Epilogue::kBiasGeluAux);
  linear(r, "bert", "linear_fc_proj", bN, 4 * C, C, cuda::Epilogue::kBias);
  attention(r, "bert", 32, 12, 128, 64, false, true);
  norms(r, "bert", bN, C, false);
  softmax_ce(r, "bert", 0, 0, bN, 30522);
  embedding_adamw(r, "bert", bN, C, 30522, 109482240);
  cudaStreamDestroy(stream);

  double copy_gbps = 0;
  for (const Row& row : r.rows)
    if (row.op == "copy_d2d") copy_gbps = row.gbps;
  nlohmann::json out = {{"device", device_line(info)}, {"iters", opt.iters}, {"warmup", opt.warmup},
                        {"dtype", "bf16"}, {"copy_gbps", copy_gbps}};
  nlohmann::json rows = nlohmann::json::array();
  if (!opt.json)
    std::printf("%s\n%-7s %-20s %-10s %-30s %10s %8s %8s %6s %10s %6s\n", device_line(info).c_str(), "model",
                "op", "pass", "shape", "us", "TFLOP/s", "GB/s", "%copy", "torch", "ratio");
  for (const Row& row : r.rows) {
    nlohmann::json j = {{"model", row.model}, {"op", row.op}, {"pass", row.pass}, {"shape", row.shape}};
    if (!row.error.empty()) j["error"] = row.error;
    j["us"] = row.us;
    if (row.tflops > 0) j["tflops"] = row.tflops;
    if (row.gbps > 0) {
      j["gbps"] = row.gbps;
      if (copy_gbps > 0) j["pct_of_copy"] = 100.0 * row.gbps / copy_gbps;
    }
    std::string torch_s = "-", ratio_s = "-";
    if (!row.anchor.empty()) {
      j["anchor_key"] = row.anchor;
      if (anchor.is_object() && anchor.contains(row.anchor) && anchor[row.anchor].is_number() && row.us > 0) {
        const double a = anchor[row.anchor].get<double>();
        j["anchor"] = a;
        // Times (us): torch / ours, so > 1 means we are faster. Rates: ours / torch.
        const bool is_time = row.anchor.size() > 3 && row.anchor.compare(row.anchor.size() - 3, 3, "_us") == 0;
        const double ratio = is_time ? a / row.us : (row.tflops > 0 ? row.tflops : row.gbps / 1000.0) / a;
        j["ratio_vs_torch"] = ratio;
        char b1[32], b2[32];
        std::snprintf(b1, sizeof b1, "%.4g", a);
        std::snprintf(b2, sizeof b2, "%.3f", ratio);
        torch_s = b1;
        ratio_s = b2;
      }
    }
    rows.push_back(j);
    if (!opt.json) {
      if (!row.error.empty()) {
        std::printf("%-7s %-20s %-10s %-30s ERROR %s\n", row.model.c_str(), row.op.c_str(), row.pass.c_str(),
                    row.shape.c_str(), row.error.c_str());
        continue;
      }
      std::printf("%-7s %-20s %-10s %-30s %10.1f %8.1f %8.0f %6.0f %10s %6s\n", row.model.c_str(), row.op.c_str(),
                  row.pass.c_str(), row.shape.c_str(), row.us, row.tflops, row.gbps,
                  copy_gbps > 0 && row.gbps > 0 ? 100.0 * row.gbps / copy_gbps : 0.0, torch_s.c_str(),
                  ratio_s.c_str());
    }
  }
  out["rows"] = rows;
  if (opt.json) std::printf("%s\n", out.dump(1).c_str());
  bool any_error = false;
  for (const Row& row : r.rows) any_error = any_error || !row.error.empty();
  return any_error ? 1 : 0;
}

}  // namespace lwbench
#endif  // LW_WITH_CUDA
