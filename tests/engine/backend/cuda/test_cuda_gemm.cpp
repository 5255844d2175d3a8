// cuBLASLt GEMM against lw::cpu::gemm (OpenBLAS): every transpose combination, odd
// sizes, a 1x1x1 product, strided batches, beta accumulation, padded leading
// dimensions, f32 exact / TF32 / bf16 / f16, and the fused bias, bias+GELU and
// bias+GELU+aux epilogues against the CPU's gemm + add_bias + gelu(tanh).
#include <QtTest/QtTest>

#include "engine/backend/cpu/cpu_kernels.h"
#include "tests/engine/backend/cuda/cuda_test_util.h"

using lw::DType;
using namespace lwtest;
namespace cuda = lw::cuda;
namespace cpu = lw::cpu;

Q_DECLARE_METATYPE(lw::DType)
Q_DECLARE_METATYPE(lw::cuda::Epilogue)

class TestCudaGemm : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    if (cuda::device_count() == 0) QSKIP("no CUDA device: the cuda tests run on the GPU machine");
    LW_EXPECT_OK(cuda::gemm_prepare(nullptr));
  }
  void cleanupTestCase() { cuda::set_f32_math(cuda::F32Math::kExact); }

  void gemm_data() {
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<bool>("tf32");
    QTest::addColumn<int>("M");
    QTest::addColumn<int>("N");
    QTest::addColumn<int>("K");
    QTest::addColumn<bool>("ta");
    QTest::addColumn<bool>("tb");
    QTest::addColumn<int>("batch");
    QTest::addColumn<int>("pad");   // extra leading-dimension elements
    QTest::addColumn<float>("beta");
    QTest::addColumn<cuda::Epilogue>("epi");
    struct Shape { int M, N, K, batch, pad; float beta; };
    const Shape shapes[] = {{1, 1, 1, 1, 0, 0.f}, {17, 33, 65, 1, 0, 0.f}, {64, 768, 96, 1, 0, 0.5f},
                            {31, 40, 24, 3, 8, 0.f}, {128, 256, 768, 2, 0, 1.f}};
    struct Mode { DType t; bool tf32; };
    const Mode modes[] = {{DType::kF32, false}, {DType::kF32, true}, {DType::kBF16, false}, {DType::kF16, false}};
    for (const Mode& md : modes)
      for (const Shape& s : shapes)
        for (int tr = 0; tr < 4; ++tr)
          QTest::newRow(qPrintable(QString("%1%2 %3x%4x%5 b%6 %7%8 pad%9 beta%10")
                                       .arg(dtype_tag(md.t)).arg(md.tf32 ? "-tf32" : "")
                                       .arg(s.M).arg(s.N).arg(s.K).arg(s.batch)
                                       .arg(tr & 1 ? "T" : "N").arg(tr & 2 ? "T" : "N").arg(s.pad).arg(s.beta)))
              << md.t << md.tf32 << s.M << s.N << s.K << bool(tr & 1) << bool(tr & 2) << s.batch << s.pad
              << s.beta << cuda::Epilogue::kNone;
    for (const Mode& md : modes)
      for (auto epi : {cuda::Epilogue::kBias, cuda::Epilogue::kBiasGelu, cuda::Epilogue::kBiasGeluAux})
        for (const Shape& s : {Shape{16, 64, 32, 1, 0, 0.f}, Shape{128, 768, 256, 1, 0, 0.f}, Shape{7, 24, 40, 2, 0, 0.f}})
          QTest::newRow(qPrintable(QString("%1%2 epilogue%3 %4x%5x%6 b%7").arg(dtype_tag(md.t)).arg(md.tf32 ? "-tf32" : "")
                                       .arg(static_cast<int>(epi)).arg(s.M).arg(s.N).arg(s.K).arg(s.batch)))
              << md.t << md.tf32 << s.M << s.N << s.K << false << true << s.batch << 0 << 0.f << epi;
  }

  void gemm() {
    QFETCH(DType, dtype);
    QFETCH(bool, tf32);
    QFETCH(int, M);
    QFETCH(int, N);
    QFETCH(int, K);
    QFETCH(bool, ta);
    QFETCH(bool, tb);
    QFETCH(int, batch);
    QFETCH(int, pad);
    QFETCH(float, beta);
    QFETCH(cuda::Epilogue, epi);
    cuda::set_f32_math(tf32 ? cuda::F32Math::kTF32 : cuda::F32Math::kExact);
    const int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    const int64_t sa = int64_t{ta ? K : M} * lda, sb = int64_t{tb ? N : K} * ldb, sc = int64_t{M} * ldc;
    auto A = rounded(dtype, randn(sa * batch, 101, 0.5f));
    auto B = rounded(dtype, randn(sb * batch, 102, 0.5f));
    auto C0 = rounded(dtype, randn(sc * batch, 103));
    auto bias = rounded(dtype, randn(N, 104));
    DevBuf A_ = upload(dtype, A), B_ = upload(dtype, B), C_ = upload(dtype, C0), bias_ = upload(dtype, bias);
    DevBuf aux_(sc * batch * 4 + 16);
    const float alpha = 1.25f;
    LW_EXPECT_OK(cuda::gemm_epilogue(dtype, ta, tb, M, N, K, alpha, A_.get(), lda, sa, B_.get(), ldb, sb, beta,
                                     C_.get(), ldc, sc, batch, epi, bias_.get(), aux_.get(), 0));
    std::vector<float> want = C0;
    cpu::gemm(ta, tb, M, N, K, alpha, A.data(), lda, sa, B.data(), ldb, sb, beta, want.data(), ldc, sc, batch);
    std::vector<float> pre;
    if (epi != cuda::Epilogue::kNone) {
      for (int b = 0; b < batch; ++b)
        for (int r = 0; r < M; ++r) cpu::add_bias(want.data() + b * sc + int64_t{r} * ldc, bias.data(), 1, N);
      pre = want;
      if (epi != cuda::Epilogue::kBias) cpu::gelu_forward(want.data(), pre.data(), static_cast<int64_t>(want.size()),
                                                          cpu::GeluKind::kTanh);
    }
    // Tolerance grows with K (sum of K rounded products); TF32 keeps 10 mantissa bits.
    const double k_scale = std::sqrt(static_cast<double>(K)) / 8.0 + 1.0;
    Tol tol = tol_for(dtype, k_scale);
    // TF32 rounds both inputs to 10 mantissa bits: each product is off by up to 2^-10
    // relative, and K independent errors add up to about 2^-10 * sqrt(K) (4 sigma here).
    if (dtype == DType::kF32 && tf32)
      tol = {4.0 * std::ldexp(1.0, -10) * std::sqrt(static_cast<double>(K)), 2e-3 * k_scale};
    // Only the M x N part of each padded C is defined.
    auto got = download(dtype, C_, sc * batch);
    std::vector<float> g2, w2;
    for (int b = 0; b < batch; ++b)
      for (int r = 0; r < M; ++r)
        for (int c = 0; c < N; ++c) {
          g2.push_back(got[b * sc + int64_t{r} * ldc + c]);
          w2.push_back(want[b * sc + int64_t{r} * ldc + c]);
        }
    LW_EXPECT_CLOSE(g2, w2, tol, "gemm C");
    if (epi == cuda::Epilogue::kBiasGeluAux) {
      auto aux = download(dtype, aux_, sc * batch);
      std::vector<float> a2, p2;
      for (int b = 0; b < batch; ++b)
        for (int r = 0; r < M; ++r)
          for (int c = 0; c < N; ++c) {
            a2.push_back(aux[b * sc + int64_t{r} * ldc + c]);
            p2.push_back(pre[b * sc + int64_t{r} * ldc + c]);
          }
      LW_EXPECT_CLOSE(a2, p2, tol, "gemm GELU aux (pre-activation)");
    }
  }

  void bad_input() {
    DevBuf buf(64);
    lw::Status st = cuda::gemm(DType::kI8, false, false, 2, 2, 2, 1.f, buf.get(), 2, 0, buf.get(), 2, 0, 0.f,
                               buf.get(), 2, 0, 1, 0);
    QCOMPARE(st.code(), lw::StatusCode::kUnsupported);
    st = cuda::gemm(DType::kF32, false, false, 2, 4, 2, 1.f, buf.get(), 2, 0, buf.get(), 4, 0, 0.f, buf.get(), 3,
                    0, 1, 0);
    QCOMPARE(st.code(), lw::StatusCode::kInvalidArgument);
    QVERIFY2(st.message().find("leading dimension") != std::string::npos, st.message().c_str());
  }
};

QTEST_GUILESS_MAIN(TestCudaGemm)
#include "test_cuda_gemm.moc"
