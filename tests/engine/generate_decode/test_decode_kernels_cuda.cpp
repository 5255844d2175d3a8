// The decode GEMV, attention and argmax kernels (engine/backend/cuda/decode_kernels.h)
// against a host reference in double: every input op (none, layer norm, RMS norm, SwiGLU)
// and output op (store, residual add, GELU, the SwiGLU pair), three segments with and
// without bias, batches of 1..11 (above 8 the launcher chunks), widths on the 16-byte path
// and off it; attention over one chunk and several; the attention-partials input; argmax
// ties across the vocabulary slices. Runs on a GPU machine (label cuda); without a device
// it skips.
#include <QtTest/QtTest>

#include <algorithm>
#include <cmath>

#include "engine/backend/cuda/decode_kernels.h"
#include "tests/engine/backend/cuda/cuda_test_util.h"

using lw::DType;
using namespace lwtest;
namespace dk = lw::cuda::decode;

Q_DECLARE_METATYPE(lw::DType)

namespace {

double gelu_tanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

// x' for one sequence: the input row after the GEMV's input op.
std::vector<double> prepared(const std::vector<float>& x, int ldx, int b, int K, dk::InputOp op,
                             const std::vector<float>& nw, const std::vector<float>& nb) {
  std::vector<double> v(static_cast<size_t>(K));
  for (int k = 0; k < K; ++k) {
    const double a = x[size_t(b) * ldx + k];
    v[k] = op == dk::InputOp::kSwiglu ? a / (1.0 + std::exp(-a)) * x[size_t(b) * ldx + K + k] : a;
  }
  if (op == dk::InputOp::kLayerNorm || op == dk::InputOp::kRmsNorm) {
    double mean = 0, var = 0;
    if (op == dk::InputOp::kLayerNorm) {
      for (double a : v) mean += a;
      mean /= K;
    }
    for (double a : v) var += (a - mean) * (a - mean);
    const double rstd = 1.0 / std::sqrt(var / K + 1e-5);
    for (int k = 0; k < K; ++k)
      v[k] = (v[k] - mean) * rstd * nw[k] + (op == dk::InputOp::kLayerNorm ? nb[k] : 0.0);
  }
  return v;
}

}  // namespace

class TestDecodeKernelsCuda : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    if (lw::cuda::device_count() == 0) QSKIP("no CUDA device: the cuda tests run on the GPU machine");
  }

  void gemv_data() {
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<int>("K");
    QTest::addColumn<int>("B");
    QTest::addColumn<int>("input");
    QTest::addColumn<int>("output");
    QTest::addColumn<bool>("many_rows");
    const int ops[][2] = {{int(dk::InputOp::kNone), int(dk::OutputOp::kStore)},
                          {int(dk::InputOp::kLayerNorm), int(dk::OutputOp::kGeluTanh)},
                          {int(dk::InputOp::kRmsNorm), int(dk::OutputOp::kStore)},
                          {int(dk::InputOp::kSwiglu), int(dk::OutputOp::kAccumulate)},
                          {int(dk::InputOp::kNone), int(dk::OutputOp::kAccumulate)}};
    for (DType t : {DType::kF32, DType::kBF16})
      for (int K : {100, 256, 2056})
        for (int B : {1, 3, 8, 11})
          for (const auto& op : ops)
            QTest::newRow(qPrintable(QString("%1 K%2 B%3 in%4 out%5")
                                         .arg(dtype_tag(t)).arg(K).arg(B).arg(op[0]).arg(op[1])))
                << t << K << B << op[0] << op[1] << false;
    // Rows of 2, 4 and 8 rounds (bf16, 1,024 columns a round); at 4096 and 8192 the input rows
    // and norm planes take 48 KB and more of shared memory (the launch asks for it).
    for (int K : {2048, 4096, 8192})
      for (int B : {1, 3, 8, 11})
        for (const auto& op : ops)
          QTest::newRow(qPrintable(QString("bf16 K%1 B%2 in%3 out%4")
                                       .arg(K).arg(B).arg(op[0]).arg(op[1])))
              << DType::kBF16 << K << B << op[0] << op[1] << false;
    // Several rows a warp (7,000 rows on at most 132 x 16 warps): every warp walks many
    // (row, round) items, so the register pipeline refills across rows (above, a warp has
    // one row at most).
    // (bf16, batch 1 and 2, three of the input / output pairs: the host reference dominates.)
    for (int K : {256, 2048, 2056})
      for (int B : {1, 2})
        for (int o : {0, 2, 3})
          QTest::newRow(qPrintable(QString("bf16 K%1 B%2 in%3 out%4 many rows")
                                       .arg(K).arg(B).arg(ops[o][0]).arg(ops[o][1])))
              << DType::kBF16 << K << B << ops[o][0] << ops[o][1] << true;
  }
  void gemv() {
    QFETCH(DType, dtype);
    QFETCH(int, K);
    QFETCH(int, B);
    QFETCH(int, input);
    QFETCH(int, output);
    QFETCH(bool, many_rows);
    const auto in_op = static_cast<dk::InputOp>(input);
    const auto out_op = static_cast<dk::OutputOp>(output);
    const int few[3] = {40, 17, 70}, many[3] = {4000, 170, 2830};
    const int* rows = many_rows ? many : few;
    const int N = rows[0] + rows[1] + rows[2];
    const int ldx = (in_op == dk::InputOp::kSwiglu ? 2 * K : K) + 4, ldy = N + 3;
    const auto x = randn(size_t(B) * ldx, 11);
    const auto nw = rounded(dtype, randn(size_t(K), 12, 0.2f, 1.f));
    const auto nb = rounded(dtype, randn(size_t(K), 13, 0.1f));
    std::vector<std::vector<float>> w(3), bias(3);
    std::vector<DevBuf> dw, dbias;
    dk::GemvArgs a;
    a.dtype = dtype, a.B = B, a.K = K, a.ldx = ldx, a.ldy = ldy, a.input = in_op, a.output = out_op;
    for (int s = 0; s < 3; ++s) {
      w[s] = rounded(dtype, randn(size_t(rows[s]) * K, 20 + s, 0.05f));
      if (s != 1) bias[s] = rounded(dtype, randn(size_t(rows[s]), 30 + s, 0.1f));
      dw.push_back(upload(dtype, w[s]));
      dbias.push_back(upload(dtype, bias[s]));
      a.seg[s] = {dw.back().get(), s != 1 ? dbias.back().get() : nullptr, rows[s]};
    }
    a.nseg = 3;
    const auto y0 = randn(size_t(B) * ldy, 14);
    DevBuf dx = upload(DType::kF32, x), dy = upload(DType::kF32, y0);
    DevBuf dnw = upload(dtype, nw), dnb = upload(dtype, nb);
    a.x = dx.as<float>(), a.y = dy.as<float>(), a.eps = 1e-5f;
    a.norm_w = dnw.get(), a.norm_b = in_op == dk::InputOp::kLayerNorm ? dnb.get() : nullptr;
    const lw::Status st = dk::gemv(a, nullptr);
    QVERIFY2(st.is_ok(), st.to_string().c_str());
    QCOMPARE(cudaDeviceSynchronize(), cudaSuccess);
    const auto y = download(DType::kF32, dy, y0.size());
    double worst = 0;
    for (int b = 0; b < B; ++b) {
      const auto v = prepared(x, ldx, b, K, in_op, nw, nb);
      for (int s = 0, r0 = 0; s < 3; r0 += rows[s], ++s)
        for (int r = 0; r < rows[s]; ++r) {
          double acc = 0;
          for (int k = 0; k < K; ++k) acc += double(w[s][size_t(r) * K + k]) * v[k];
          if (!bias[s].empty()) acc += bias[s][r];
          const size_t at = size_t(b) * ldy + r0 + r;
          if (out_op == dk::OutputOp::kAccumulate) acc += y0[at];
          if (out_op == dk::OutputOp::kGeluTanh) acc = gelu_tanh(acc);
          worst = std::max(worst, std::abs(acc - y[at]) / (1.0 + std::abs(acc)));
        }
      for (int c = N; c < ldy; ++c)  // past the outputs: untouched
        QCOMPARE(y[size_t(b) * ldy + c], y0[size_t(b) * ldy + c]);
    }
    QVERIFY2(worst < 2e-4, qPrintable(QString("worst relative error %1").arg(worst)));
  }

  // kSwigluPair: gate and up rows in one launch, silu(gate . x') * (up . x') stored once per
  // row pair (after an RMS norm, as the LLaMA MLP); few and many pairs a warp, the f32 and
  // bf16 paths, batches across the chunking; biases or a width off the 16-byte path refused.
  void gemv_swiglu_pair_data() {
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<int>("K");
    QTest::addColumn<int>("B");
    QTest::addColumn<int>("F");
    for (DType t : {DType::kF32, DType::kBF16})
      for (int K : {256, 2056})
        for (int B : {1, 3, 8, 11})
          QTest::newRow(qPrintable(QString("%1 K%2 B%3 F70").arg(dtype_tag(t)).arg(K).arg(B)))
              << t << K << B << 70;
    // bf16 rows of 2 and 4 rounds (the TinyLlama width and a 48 KB input).
    for (int K : {2048, 4096})
      for (int B : {1, 3, 11})
        QTest::newRow(qPrintable(QString("bf16 K%1 B%2 F70").arg(K).arg(B))) << DType::kBF16 << K << B << 70;
    for (int B : {1, 2}) {
      QTest::newRow(qPrintable(QString("bf16 K2056 B%1 F3500").arg(B))) << DType::kBF16 << 2056 << B << 3500;
      QTest::newRow(qPrintable(QString("bf16 K2048 B%1 F3500").arg(B))) << DType::kBF16 << 2048 << B << 3500;
    }
  }
  void gemv_swiglu_pair() {
    QFETCH(DType, dtype);
    QFETCH(int, K);
    QFETCH(int, B);
    QFETCH(int, F);
    const int ldx = K + 4, ldy = F + 5;
    const auto x = randn(size_t(B) * ldx, 41);
    const auto nw = rounded(dtype, randn(size_t(K), 42, 0.2f, 1.f));
    const auto gate = rounded(dtype, randn(size_t(F) * K, 43, 0.05f));
    const auto up = rounded(dtype, randn(size_t(F) * K, 44, 0.05f));
    const auto y0 = randn(size_t(B) * ldy, 45);
    DevBuf dx = upload(DType::kF32, x), dy = upload(DType::kF32, y0), dnw = upload(dtype, nw);
    DevBuf dg = upload(dtype, gate), du = upload(dtype, up);
    dk::GemvArgs a;
    a.dtype = dtype, a.B = B, a.K = K, a.ldx = ldx, a.ldy = ldy;
    a.input = dk::InputOp::kRmsNorm, a.output = dk::OutputOp::kSwigluPair;
    a.x = dx.as<float>(), a.y = dy.as<float>(), a.norm_w = dnw.get(), a.eps = 1e-5f;
    a.seg[0] = {dg.get(), nullptr, F}, a.seg[1] = {du.get(), nullptr, F}, a.nseg = 2;
    {
      dk::GemvArgs bad = a;
      bad.seg[1].bias = dnw.get();
      const lw::Status st = dk::gemv(bad, nullptr);
      QVERIFY(!st.is_ok());
      QVERIFY2(st.message().find("SwiGLU") != std::string::npos, st.to_string().c_str());
      bad = a;
      bad.K = K - 1;
      QVERIFY(!dk::gemv(bad, nullptr).is_ok());
    }
    const lw::Status st = dk::gemv(a, nullptr);
    QVERIFY2(st.is_ok(), st.to_string().c_str());
    QCOMPARE(cudaDeviceSynchronize(), cudaSuccess);
    const auto y = download(DType::kF32, dy, y0.size());
    double worst = 0;
    for (int b = 0; b < B; ++b) {
      const auto v = prepared(x, ldx, b, K, dk::InputOp::kRmsNorm, nw, nw);
      for (int r = 0; r < F; ++r) {
        double g = 0, u = 0;
        for (int k = 0; k < K; ++k) {
          g += double(gate[size_t(r) * K + k]) * v[k];
          u += double(up[size_t(r) * K + k]) * v[k];
        }
        const double want = g / (1.0 + std::exp(-g)) * u;
        worst = std::max(worst, std::abs(want - y[size_t(b) * ldy + r]) / (1.0 + std::abs(want)));
      }
      for (int c = F; c < ldy; ++c)  // past the outputs: untouched
        QCOMPARE(y[size_t(b) * ldy + c], y0[size_t(b) * ldy + c]);
    }
    QVERIFY2(worst < 2e-4, qPrintable(QString("worst relative error %1").arg(worst)));
  }

  // attention() against a host reference in double: rotary q and new key, the cache append
  // (rounded to the cache dtype), grouped-query heads, on both kernels.
  // Scalar kernel: a cache of up to 384 positions is one block a head (written directly),
  // longer ones are split in 384-key chunks, combined in the first block of a cluster (a small
  // grid: 6 sequences x 2 heads x 3 chunks) or by the last block to finish (4 heads: 72
  // blocks, more than half an H100's SMs; or 3,100 positions: nine chunks, more than a cluster
  // takes). Tensor-core kernel (a block a key/value head): groups of 1, 2 and 8 query heads
  // (TinyLlama's 32 / 4 at 384 positions), heads of 64 and 128, bf16 and f16, one chunk and
  // several combined by counters, and with counters null the partials left for the
  // o-projection (combined here on the host). Sequences at chunk edges and within the first
  // chunk; called twice so the second call finds the combine counters reset.
  void attention_kernel_data() {
    QTest::addColumn<int>("NH");
    QTest::addColumn<int>("NKV");
    QTest::addColumn<int>("P");
    QTest::addColumn<int>("cluster");  // scalar kernel: expected on an H100 / H200 (132 SMs)
    QTest::addColumn<int>("D");
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<bool>("mma");       // the tensor-core kernel (else the scalar one)
    QTest::addColumn<bool>("partials");  // counters null: partials left in scratch
    const DType bf = DType::kBF16;
    QTest::newRow("scalar: 2 heads, 300 positions, one block a head") << 2 << 1 << 300 << 1 << 64 << bf << false << false;
    QTest::newRow("scalar: 2 heads, 1100 positions, clusters") << 2 << 1 << 1100 << 3 << 64 << bf << false << false;
    QTest::newRow("scalar: 4 heads, 1100 positions, counters") << 4 << 2 << 1100 << 1 << 64 << bf << false << false;
    QTest::newRow("scalar: 4 heads, 3100 positions, counters") << 4 << 2 << 3100 << 1 << 64 << bf << false << false;
    QTest::newRow("scalar: f32 heads of 128, 300 positions, not staged") << 2 << 1 << 300 << 1 << 128 << DType::kF32 << false << false;
    QTest::newRow("mma: 2 heads a group, 300 positions") << 2 << 1 << 300 << 1 << 64 << bf << true << false;
    QTest::newRow("mma: 32 / 4 heads, 384 positions") << 32 << 4 << 384 << 1 << 64 << bf << true << false;
    QTest::newRow("mma: 8 / 1 heads, 100 positions, f16") << 8 << 1 << 100 << 1 << 64 << DType::kF16 << true << false;
    QTest::newRow("mma: 4 / 2 heads, 1100 positions, counters") << 4 << 2 << 1100 << 1 << 64 << bf << true << false;
    QTest::newRow("mma: 4 / 2 heads, 3100 positions, counters") << 4 << 2 << 3100 << 1 << 64 << bf << true << false;
    QTest::newRow("mma: 4 / 2 heads, 1100 positions, partials") << 4 << 2 << 1100 << 1 << 64 << bf << true << true;
    QTest::newRow("mma: heads of 128, 1 a group, 1100 positions") << 3 << 3 << 1100 << 1 << 128 << bf << true << false;
    QTest::newRow("mma: heads of 128, 300 positions, f16") << 2 << 2 << 300 << 1 << 128 << DType::kF16 << true << false;
  }
  void attention_kernel() {
    QFETCH(int, NH);
    QFETCH(int, NKV);
    QFETCH(int, P);
    QFETCH(int, cluster);
    QFETCH(int, D);
    QFETCH(DType, dtype);
    QFETCH(bool, mma);
    QFETCH(bool, partials);
    const int B = 6;
    int major = 0, sms = 0;
    QCOMPARE(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0), cudaSuccess);
    QCOMPARE(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), cudaSuccess);
    if (!mma && major >= 9 && sms == 132) QCOMPARE(dk::attention_cluster_size(B, NH, P), cluster);
    if (mma && !dk::attention_mma_fits(dtype, NH, NKV, D))
      QSKIP("the tensor-core attention is off (LW_DECODE_ATTN_MMA=0) or does not fit here");
    const dk::AttentionPath path = mma ? dk::AttentionPath::kAuto : dk::AttentionPath::kScalar;
    const DType dt = dtype;
    const int KV = NKV * D, ldq = (NH + 2 * NKV) * D;
    const int chunk = dk::attention_chunk(P), NS = dk::attention_split(P);
    const float theta = 10000.f;
    const std::vector<int32_t> pos = {0, 63, 64, std::min(384, P - 1), P * 2 / 3, P - 1};
    const int64_t seq_stride = int64_t(P) * KV;
    auto kc = rounded(dt, randn(size_t(B) * seq_stride, 51, 0.5f));
    auto vc = rounded(dt, randn(size_t(B) * seq_stride, 52));
    DevBuf dk_ = upload(dt, kc), dv = upload(dt, vc), dpos = upload_i32(pos);
    const size_t scratch_floats = dk::attention_scratch_floats(B, NH, D, P);
    DevBuf scratch(scratch_floats * sizeof(float));
    DevBuf counters(size_t(B) * NH * sizeof(int32_t) + 16), dout(size_t(B) * NH * D * sizeof(float));
    QCOMPARE(cudaMemset(counters.get(), 0, size_t(B) * NH * sizeof(int32_t)), cudaSuccess);
    for (int call = 0; call < 2; ++call) {
      const auto qkv = randn(size_t(B) * ldq, 53 + call);
      DevBuf dq = upload(DType::kF32, qkv);
      const lw::Status st = dk::attention(dt, dq.as<float>(), ldq, dk_.get(), dv.get(), seq_stride,
                                          dpos.as<int32_t>(), B, NH, NKV, D, P, theta,
                                          scratch.as<float>(),
                                          partials ? nullptr : counters.as<int32_t>(),
                                          dout.as<float>(), nullptr, nullptr, path);
      QVERIFY2(st.is_ok(), st.to_string().c_str());
      auto out = download(DType::kF32, dout, size_t(B) * NH * D);
      if (partials) {  // [m, l, o] per (sequence, head, chunk), m in natural-log units
        const auto part = download(DType::kF32, scratch, scratch_floats);
        for (int b = 0; b < B; ++b)
          for (int h = 0; h < NH; ++h) {
            const float* ph = part.data() + (size_t(b) * NH + h) * NS * (D + 2);
            const int ns = pos[b] / chunk + 1;
            double M = -1e300, L = 0;
            for (int t = 0; t < ns; ++t) M = std::max(M, double(ph[t * (D + 2)]));
            for (int t = 0; t < ns; ++t) L += ph[t * (D + 2) + 1] * std::exp(ph[t * (D + 2)] - M);
            for (int d = 0; d < D; ++d) {
              double o = 0;
              for (int t = 0; t < ns; ++t) o += ph[t * (D + 2) + 2 + d] * std::exp(ph[t * (D + 2)] - M);
              out[size_t(b) * NH * D + h * D + d] = float(o / L);
            }
          }
      }
      double worst = 0;
      for (int b = 0; b < B; ++b) {
        const int p = pos[b];
        const float* row = qkv.data() + size_t(b) * ldq;
        auto rotate = [&](const float* x, std::vector<double>& y) {
          for (int i = 0; i < D / 2; ++i) {
            const float inv = 1.f / std::pow(theta, float(2 * i) / float(D));
            const double a = double(float(p) * inv), c = std::cos(a), s = std::sin(a);
            y[i] = x[i] * c - x[i + D / 2] * s;
            y[i + D / 2] = x[i + D / 2] * c + x[i] * s;
          }
        };
        for (int g = 0; g < NKV; ++g) {  // the new key and value, as the cache now holds them
          std::vector<double> k(D);
          rotate(row + NH * D + g * D, k);
          for (int d = 0; d < D; ++d) {
            const size_t at = size_t(b) * seq_stride + size_t(p) * KV + g * D + d;
            kc[at] = rounded(dt, {float(k[d])})[0];
            vc[at] = rounded(dt, {row[NH * D + KV + g * D + d]})[0];
          }
        }
        for (int h = 0; h < NH; ++h) {
          const int g = h / (NH / NKV);
          std::vector<double> q(D), sc(p + 1), o(D, 0.0);
          rotate(row + h * D, q);
          double mx = -1e300, sum = 0;
          for (int j = 0; j <= p; ++j) {
            double dot = 0;
            for (int d = 0; d < D; ++d) dot += q[d] * kc[size_t(b) * seq_stride + size_t(j) * KV + g * D + d];
            sc[j] = dot / std::sqrt(double(D));
            mx = std::max(mx, sc[j]);
          }
          for (int j = 0; j <= p; ++j) sum += (sc[j] = std::exp(sc[j] - mx));
          for (int j = 0; j <= p; ++j)
            for (int d = 0; d < D; ++d)
              o[d] += sc[j] / sum * vc[size_t(b) * seq_stride + size_t(j) * KV + g * D + d];
          for (int d = 0; d < D; ++d)
            worst = std::max(worst, std::abs(o[d] - out[size_t(b) * NH * D + h * D + d]));
        }
      }
      QVERIFY2(worst < 2e-3, qPrintable(QString("call %1: worst error %2").arg(call).arg(worst)));
      const auto kc_dev = download(dt, dk_, kc.size());  // the appended rows, rounded
      for (int b = 0; b < B; ++b)
        for (int i = 0; i < KV; ++i) {
          const size_t at = size_t(b) * seq_stride + size_t(pos[b]) * KV + i;
          QVERIFY2(std::abs(kc_dev[at] - kc[at]) <= 1e-2 * (1 + std::abs(kc[at])), "cached key");
        }
    }
  }

  // The o-projection's input combined from attention chunk partials (several chunks per head,
  // sequences of different lengths, a padded batch chunk above 8).
  // (One sequence alone: the batch-1 instantiation of the kernel.)
  void gemv_attention_input_data() {
    QTest::addColumn<int>("first");
    QTest::addColumn<int>("count");
    QTest::newRow("ten sequences") << 0 << 10;
    QTest::newRow("one sequence") << 3 << 1;
  }
  void gemv_attention_input() {
    QFETCH(int, first);
    QFETCH(int, count);
    const int NH = 4, D = 16, K = NH * D, N = 24, chunk = 64, P = 300, NS = (P + chunk - 1) / chunk;
    const std::vector<int32_t> all = {0, 63, 64, 200, 299, 5, 130, 77, 150, 260};
    const std::vector<int32_t> pos(all.begin() + first, all.begin() + first + count);
    const int B = int(pos.size());
    const auto part = randn(size_t(B) * NH * NS * (D + 2), 50);
    const auto w = rounded(DType::kBF16, randn(size_t(N) * K, 51, 0.1f));
    const auto y0 = randn(size_t(B) * N, 52);
    DevBuf dpart = upload(DType::kF32, part), dpos = upload_i32(pos), dw = upload(DType::kBF16, w);
    DevBuf dy = upload(DType::kF32, y0), dx(16);
    dk::GemvArgs a;
    a.dtype = DType::kBF16, a.B = B, a.K = K, a.x = dx.as<float>(), a.ldx = K, a.ldy = N;
    a.input = dk::InputOp::kAttention, a.output = dk::OutputOp::kAccumulate;
    a.seg[0] = {dw.get(), nullptr, N}, a.nseg = 1, a.y = dy.as<float>();
    a.attn_part = dpart.as<float>(), a.positions = dpos.as<int32_t>();
    a.heads = NH, a.head_dim = D, a.chunk = chunk, a.nsplit = NS;
    const lw::Status st = dk::gemv(a, nullptr);
    QVERIFY2(st.is_ok(), st.to_string().c_str());
    QCOMPARE(cudaDeviceSynchronize(), cudaSuccess);
    const auto y = download(DType::kF32, dy, y0.size());
    double worst = 0;
    for (int b = 0; b < B; ++b) {
      const int ns = pos[b] / chunk + 1;
      std::vector<double> x(size_t(K), 0.0);
      for (int h = 0; h < NH; ++h) {
        const float* ph = part.data() + (size_t(b) * NH + h) * NS * (D + 2);
        double M = -1e30, L = 0;
        for (int t = 0; t < ns; ++t) M = std::max(M, double(ph[t * (D + 2)]));
        for (int t = 0; t < ns; ++t) L += ph[t * (D + 2) + 1] * std::exp(ph[t * (D + 2)] - M);
        for (int d = 0; d < D; ++d) {
          for (int t = 0; t < ns; ++t) x[h * D + d] += ph[t * (D + 2) + 2 + d] * std::exp(ph[t * (D + 2)] - M);
          x[h * D + d] /= L;
        }
      }
      for (int r = 0; r < N; ++r) {
        double acc = y0[size_t(b) * N + r];
        for (int k = 0; k < K; ++k) acc += double(w[size_t(r) * K + k]) * x[k];
        worst = std::max(worst, std::abs(acc - y[size_t(b) * N + r]) / (1.0 + std::abs(acc)));
      }
    }
    QVERIFY2(worst < 2e-4, qPrintable(QString("worst relative error %1").arg(worst)));
  }

  void argmax() {
    const int V = 5000, B = 3;
    auto logits = randn(size_t(B) * V, 40, 3.f);
    // Row 1: the maximum twice, in different slices (the first must win); row 2: all equal.
    logits[V + 1500] = logits[V + 3100] = 50.f;
    std::fill(logits.begin() + 2 * V, logits.end(), -1.f);
    DevBuf dl = upload(DType::kF32, logits);
    DevBuf scratch(dk::argmax_scratch_floats(B, V) * 4);
    std::vector<int32_t> zeros(B, 0);
    DevBuf counters = upload_i32(zeros), ids(B * 4), lp(B * 4);
    for (int rep = 0; rep < 2; ++rep) {  // the counters must be left ready for a second call
      const lw::Status st = dk::argmax_logprob(dl.as<float>(), B, V, scratch.as<float>(),
                                               counters.as<int32_t>(), ids.as<int32_t>(),
                                               lp.as<float>(), nullptr);
      QVERIFY2(st.is_ok(), st.to_string().c_str());
      QCOMPARE(cudaDeviceSynchronize(), cudaSuccess);
      std::vector<int32_t> got(B);
      cudaMemcpy(got.data(), ids.get(), B * 4, cudaMemcpyDeviceToHost);
      const auto glp = download(DType::kF32, lp, B);
      for (int b = 0; b < B; ++b) {
        const float* row = logits.data() + size_t(b) * V;
        const int want = int(std::max_element(row, row + V) - row);
        double sum = 0;
        for (int i = 0; i < V; ++i) sum += std::exp(double(row[i]) - row[want]);
        QCOMPARE(got[b], want);
        QVERIFY2(std::abs(glp[b] + std::log(sum)) < 1e-4, qPrintable(QString("row %1").arg(b)));
      }
      QCOMPARE(got[1], 1500);
      QCOMPARE(got[2], 0);
    }
  }
};

QTEST_GUILESS_MAIN(TestDecodeKernelsCuda)
#include "test_decode_kernels_cuda.moc"
