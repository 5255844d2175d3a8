// Attention on CUDA against lw::cpu::attention_forward/backward: the fused tensor-core
// path (bf16/f16, D = 64/128) and the reference path (f32, other head sizes, probability
// capture), causal and bidirectional, key padding (including a batch whose keys are all
// masked), grouped-query heads, T = 1, T not a multiple of the 64-row tile, decode shapes
// (Tk > T) and more than 16 heads (the fused kernels' block order). On sm_90a builds the
// bf16/f16 D = 64 forward cases run the wgmma kernel. Also checks that a step's launchers can
// be captured into a CUDA graph and replayed with the same results.
#include <QtTest/QtTest>

#include "engine/backend/cpu/cpu_kernels.h"
#include "tests/engine/backend/cuda/cuda_test_util.h"

using lw::DType;
using namespace lwtest;
namespace cuda = lw::cuda;
namespace cpu = lw::cpu;

Q_DECLARE_METATYPE(lw::DType)

namespace {

struct Case {
  int B, NH, NKV, T, D;
  bool causal, mask, probs;
  int Tk;
};

// Errors scaled by the tensor's largest magnitude (gradients sum over many rows),
// but never below `floor`: gradients are linear in dout, so one that is exactly zero
// in exact arithmetic (dq when T=1) is measured in units of max|dout|.
Tol scaled(Tol t, const std::vector<float>& want, double floor = 1e-6) {
  double mx = floor;
  for (float v : want) mx = std::max(mx, static_cast<double>(std::fabs(v)));
  return {t.atol * mx, t.rtol};
}
std::vector<float> finite(std::vector<float> v) {
  for (auto& x : v)
    if (std::isinf(x)) x = x < 0 ? -1e30f : 1e30f;
  return v;
}

struct Inputs {
  std::vector<float> q, k, v, dout;
  std::vector<int32_t> mask;
};

Inputs make_inputs(DType dtype, const Case& c) {
  const int Tk = c.Tk ? c.Tk : c.T;
  Inputs in;
  in.q = rounded(dtype, randn(int64_t{c.B} * c.NH * c.T * c.D, 201));
  in.k = rounded(dtype, randn(int64_t{c.B} * c.NKV * Tk * c.D, 202));
  in.v = rounded(dtype, randn(int64_t{c.B} * c.NKV * Tk * c.D, 203));
  in.dout = rounded(dtype, randn(int64_t{c.B} * c.NH * c.T * c.D, 204));
  if (c.mask) {
    in.mask.assign(int64_t{c.B} * Tk, 1);
    for (int b = 0; b < c.B; ++b)
      for (int j = 0; j < Tk; ++j) {
        if (b == 1) in.mask[b * Tk + j] = 0;                      // every key masked
        else if (j >= Tk - 1 - (b * 5) % Tk) in.mask[b * Tk + j] = 0;  // right padding
        if (b == 0 && j == 0) in.mask[b * Tk + j] = 1;
      }
  }
  return in;
}

// [B,H,T,D] <-> [B,T,H,D] on the host (the token-major layout of the fused path).
std::vector<float> swap_heads_tokens(const std::vector<float>& x, int B, int X, int Y, int D) {
  std::vector<float> y(x.size());
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < X; ++i)
      for (int j = 0; j < Y; ++j)
        for (int d = 0; d < D; ++d)
          y[((int64_t{b} * Y + j) * X + i) * D + d] = x[((int64_t{b} * X + i) * Y + j) * D + d];
  return y;
}

}  // namespace

class TestCudaAttention : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    if (cuda::device_count() == 0) QSKIP("no CUDA device: the cuda tests run on the GPU machine");
  }

  void attention_data() {
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<int>("B");
    QTest::addColumn<int>("NH");
    QTest::addColumn<int>("NKV");
    QTest::addColumn<int>("T");
    QTest::addColumn<int>("D");
    QTest::addColumn<bool>("causal");
    QTest::addColumn<bool>("mask");
    QTest::addColumn<bool>("probs");
    QTest::addColumn<int>("Tk");
    QTest::addColumn<bool>("tm");
    const Case cases[] = {
        {1, 1, 1, 1, 64, true, false, false, 0},    {2, 4, 2, 77, 64, true, false, false, 0},
        {3, 4, 4, 130, 128, false, true, false, 0}, {2, 4, 1, 64, 128, false, true, false, 0},
        {2, 3, 3, 50, 32, false, false, false, 0},  {1, 2, 2, 20, 64, true, false, false, 45},
        {2, 2, 1, 33, 64, true, true, true, 0},     {1, 12, 12, 256, 64, true, false, false, 0},
        {2, 2, 2, 200, 64, false, false, false, 0},
        // Three key blocks of the backward (dQ summed by three of them), padding, grouped heads.
        {1, 4, 2, 300, 64, true, false, false, 0},  {2, 2, 1, 300, 64, false, true, false, 0},
        // More than 16 heads: the blocks go in groups of 16 heads, the last group partial.
        {3, 7, 7, 130, 64, true, false, false, 0},  {2, 12, 4, 200, 64, false, true, false, 0},
        // Causal with more keys than queries and whole 128-query tiles: the Hopper backward's
        // diagonal tiles masked by the causal rule alone, shifted by Tk - T.
        {1, 2, 2, 160, 64, true, false, false, 200},
    };
    for (DType t : {DType::kF32, DType::kBF16, DType::kF16})
      for (const Case& c : cases)
        for (bool tm : {false, true}) {  // token-major tensors: the fused path only
          const bool flash = cuda::attention_uses_flash(t, cpu::AttentionShape{c.B, c.NH, c.NKV, c.T, c.D, c.causal, 1.f, c.Tk}, c.probs);
          if (tm && !flash) continue;
          QTest::newRow(qPrintable(QString("%1 B%2 NH%3 NKV%4 T%5 D%6%7%8%9%10 [%11]")
                                       .arg(dtype_tag(t)).arg(c.B).arg(c.NH).arg(c.NKV).arg(c.T).arg(c.D)
                                       .arg(c.causal ? " causal" : " bidir").arg(c.mask ? " mask" : "")
                                       .arg(c.probs ? " probs" : "").arg(c.Tk ? QString(" Tk%1").arg(c.Tk) : QString())
                                       .arg(flash ? (tm ? "flash, token-major" : "flash") : "reference")))
              << t << c.B << c.NH << c.NKV << c.T << c.D << c.causal << c.mask << c.probs << c.Tk << tm;
        }
  }

  void attention() {
    QFETCH(DType, dtype);
    Case c{};
    QFETCH(int, B); QFETCH(int, NH); QFETCH(int, NKV); QFETCH(int, T); QFETCH(int, D);
    QFETCH(bool, causal); QFETCH(bool, mask); QFETCH(bool, probs); QFETCH(int, Tk); QFETCH(bool, tm);
    c = {B, NH, NKV, T, D, causal, mask, probs, Tk};
    const int TK = Tk ? Tk : T;
    cpu::AttentionShape s{B, NH, NKV, T, D, causal, 1.f / std::sqrt(static_cast<float>(D)), Tk};
    s.tokens_major = tm;
    Inputs in = make_inputs(dtype, c);
    const int64_t nq = int64_t{B} * NH * T * D, nk = int64_t{B} * NKV * TK * D, nr = int64_t{B} * NH * T;
    // The device sees token-major copies when tm; results are swapped back before comparing.
    auto dev_q = [&](const std::vector<float>& x) { return tm ? swap_heads_tokens(x, B, NH, T, D) : x; };
    auto dev_k = [&](const std::vector<float>& x) { return tm ? swap_heads_tokens(x, B, NKV, TK, D) : x; };
    auto host_q = [&](const std::vector<float>& x) { return tm ? swap_heads_tokens(x, B, T, NH, D) : x; };
    auto host_k = [&](const std::vector<float>& x) { return tm ? swap_heads_tokens(x, B, TK, NKV, D) : x; };
    DevBuf q_ = upload(dtype, dev_q(in.q)), k_ = upload(dtype, dev_k(in.k)), v_ = upload(dtype, dev_k(in.v)),
           do_ = upload(dtype, dev_q(in.dout));
    DevBuf m_ = upload_i32(in.mask), o_(nq * 4), lse_(nr * 4), p_(probs ? nr * TK * 4 : 0);
    const int32_t* mp = mask ? m_.as<int32_t>() : nullptr;
    std::vector<float> o(nq), lse(nr), pr(probs ? nr * TK : 0);

    LW_EXPECT_OK(cuda::attention_forward(dtype, o_.get(), lse_.as<float>(), probs ? p_.get() : nullptr, q_.get(),
                                         k_.get(), v_.get(), mp, s, 0));
    cpu::attention_forward(o.data(), lse.data(), probs ? pr.data() : nullptr, in.q.data(), in.k.data(),
                           in.v.data(), mask ? in.mask.data() : nullptr, s);
    LW_EXPECT_CLOSE(host_q(download(dtype, o_, nq)), o, scaled(tol_for(dtype, 1.5), o), "attention out");
    LW_EXPECT_CLOSE(finite(download(DType::kF32, lse_, nr)), finite(lse), (Tol{1e-4, 1e-4}), "attention lse");
    if (probs) LW_EXPECT_CLOSE(download(dtype, p_, nr * TK), pr, tol_for(dtype), "attention probs");

    // Backward from the GPU's own (rounded) output, as training does.
    auto o_gpu = host_q(download(dtype, o_, nq));
    auto lse_gpu = download(DType::kF32, lse_, nr);
    DevBuf dq_(nq * 4), dk_(nk * 4), dv_(nk * 4);
    const size_t wb = cuda::attention_backward_workspace_bytes(s);
    DevBuf ws(wb);
    LW_EXPECT_OK(cuda::attention_backward(dtype, dq_.get(), dk_.get(), dv_.get(), do_.get(), q_.get(), k_.get(),
                                          v_.get(), o_.get(), lse_.as<float>(), mp, s, ws.get(), wb, 0));
    std::vector<float> dq(nq), dk(nk), dv(nk);
    cpu::attention_backward(dq.data(), dk.data(), dv.data(), in.dout.data(), in.q.data(), in.k.data(), in.v.data(),
                            o_gpu.data(), lse_gpu.data(), mask ? in.mask.data() : nullptr, s);
    double max_dout = 1e-6;
    for (float v : in.dout) max_dout = std::max(max_dout, static_cast<double>(std::fabs(v)));
    LW_EXPECT_CLOSE(host_q(download(dtype, dq_, nq)), dq, scaled(tol_for(dtype, 2.0), dq, max_dout), "attention dq");
    LW_EXPECT_CLOSE(host_k(download(dtype, dk_, nk)), dk, scaled(tol_for(dtype, 2.0), dk, max_dout), "attention dk");
    LW_EXPECT_CLOSE(host_k(download(dtype, dv_, nk)), dv, scaled(tol_for(dtype, 2.0), dv, max_dout), "attention dv");
  }

  // Forward + backward attention, layernorm and a GEMM recorded into a CUDA graph on a
  // stream of their own, replayed, and compared with the same launches run eagerly.
  void graph_capture() {
    const cpu::AttentionShape s{2, 4, 2, 96, 64, true, 0.125f, 0};
    const DType t = DType::kBF16;
    Case c{2, 4, 2, 96, 64, true, false, false, 0};
    Inputs in = make_inputs(t, c);
    const int64_t nq = int64_t{2} * 4 * 96 * 64, nk = int64_t{2} * 2 * 96 * 64, nr = 2 * 4 * 96;
    DevBuf q_ = upload(t, in.q), k_ = upload(t, in.k), v_ = upload(t, in.v), do_ = upload(t, in.dout);
    const int rows = 2 * 4 * 96, C = 64;
    auto w = rounded(t, randn(C, 301, 0.5f, 1.f)), b = rounded(t, randn(C, 302));
    DevBuf w_ = upload(t, w), b_ = upload(t, b);
    const size_t wb = cuda::attention_backward_workspace_bytes(s);
    DevBuf ws(wb);
    cudaStream_t stream;
    QCOMPARE(cudaStreamCreate(&stream), cudaSuccess);
    LW_EXPECT_OK(cuda::gemm_prepare(stream));
    struct Outs { DevBuf o, lse, dq, dk, dv, y, mean, rstd, g; };
    auto make = [&] {
      return Outs{DevBuf(nq * 2), DevBuf(nr * 4), DevBuf(nq * 2), DevBuf(nk * 2), DevBuf(nk * 2),
                  DevBuf(nq * 2), DevBuf(rows * 4), DevBuf(rows * 4), DevBuf(int64_t{rows} * rows * 2)};
    };
    auto step = [&](Outs& x) -> lw::Status {
      LW_TRY(cuda::attention_forward(t, x.o.get(), x.lse.as<float>(), nullptr, q_.get(), k_.get(), v_.get(), nullptr, s, stream));
      LW_TRY(cuda::attention_backward(t, x.dq.get(), x.dk.get(), x.dv.get(), do_.get(), q_.get(), k_.get(), v_.get(),
                                      x.o.get(), x.lse.as<float>(), nullptr, s, ws.get(), wb, stream));
      LW_TRY(cuda::layernorm_forward(t, x.y.get(), x.mean.as<float>(), x.rstd.as<float>(), x.o.get(), w_.get(),
                                     b_.get(), rows, C, 1e-5f, stream));
      return cuda::gemm(t, false, true, rows, rows, C, 1.f, x.y.get(), C, 0, x.dq.get(), C, 0, 0.f, x.g.get(), rows,
                        0, 1, stream);
    };
    Outs eager = make(), graphed = make();
    LW_EXPECT_OK(step(eager));
    QCOMPARE(cudaStreamSynchronize(stream), cudaSuccess);
    cudaGraph_t graph;
    QCOMPARE(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    lw::Status st = step(graphed);
    QCOMPARE(cudaStreamEndCapture(stream, &graph), cudaSuccess);
    LW_EXPECT_OK(st);
    cudaGraphExec_t exec;
    QCOMPARE(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    QCOMPARE(cudaGraphLaunch(exec, stream), cudaSuccess);
    QCOMPARE(cudaStreamSynchronize(stream), cudaSuccess);
    LW_EXPECT_CLOSE(download(t, graphed.dq, nq), download(t, eager.dq, nq), (Tol{0, 0}), "graph dq");
    LW_EXPECT_CLOSE(download(t, graphed.dv, nk), download(t, eager.dv, nk), (Tol{0, 0}), "graph dv");
    LW_EXPECT_CLOSE(download(t, graphed.g, int64_t{rows} * rows), download(t, eager.g, int64_t{rows} * rows),
                    (Tol{0, 0}), "graph gemm");
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaStreamDestroy(stream);
  }

  void bad_input() {
    DevBuf buf(64);
    cpu::AttentionShape s{1, 3, 2, 4, 64, false, 0.125f, 0};
    lw::Status st = cuda::attention_forward(DType::kBF16, buf.get(), buf.as<float>(), nullptr, buf.get(), buf.get(),
                                            buf.get(), nullptr, s, 0);
    QCOMPARE(st.code(), lw::StatusCode::kInvalidArgument);
    QVERIFY2(st.message().find("NKV") != std::string::npos, st.message().c_str());
    s.NKV = 1;
    st = cuda::attention_backward(DType::kBF16, buf.get(), buf.get(), buf.get(), buf.get(), buf.get(), buf.get(),
                                  buf.get(), buf.get(), buf.as<float>(), nullptr, s, nullptr, 0, 0);
    QCOMPARE(st.code(), lw::StatusCode::kInvalidArgument);
    QVERIFY2(st.message().find("workspace") != std::string::npos, st.message().c_str());
  }
};

QTEST_GUILESS_MAIN(TestCudaAttention)
#include "test_cuda_attention.moc"
