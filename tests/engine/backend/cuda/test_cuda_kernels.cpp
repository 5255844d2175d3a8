// Every CUDA launcher (except attention: test_cuda_attention.cpp) against the CPU
// reference kernel on the same inputs: random data rounded to the storage type, odd
// sizes, a single row, wide rows, f32 / bf16 / f16, tolerances per dtype. Accumulating
// backward kernels start from non-zero gradients to check they add. Runs on a GPU
// machine (label cuda); without a device every test is skipped, saying so.
#include <QtTest/QtTest>

#include "engine/backend/cpu/cpu_kernels.h"
#include "tests/engine/backend/cuda/cuda_test_util.h"

using lw::DType;
using namespace lwtest;
namespace cuda = lw::cuda;
namespace cpu = lw::cpu;

Q_DECLARE_METATYPE(lw::DType)

namespace {

void add_dtype_rows(const char* shape_name, const std::vector<std::pair<int64_t, int>>& shapes) {
  QTest::addColumn<DType>("dtype");
  QTest::addColumn<qint64>("rows");
  QTest::addColumn<int>("cols");
  for (DType t : {DType::kF32, DType::kBF16, DType::kF16})
    for (auto [r, c] : shapes)
      QTest::newRow(qPrintable(QString("%1 %2 %3x%4").arg(dtype_tag(t)).arg(shape_name).arg(r).arg(c)))
          << t << static_cast<qint64>(r) << c;
}

const std::vector<std::pair<int64_t, int>> kRowShapes = {{1, 1}, {1, 768}, {7, 33}, {33, 768}, {5, 1000}, {3, 4104}};

}  // namespace

class TestCudaKernels : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    if (cuda::device_count() == 0) QSKIP("no CUDA device: the cuda tests run on the GPU machine");
    cuda::DeviceInfo info;
    LW_EXPECT_OK(cuda::device_info(0, &info));
    std::printf("CUDA kernel tests on %s (sm_%d%d, %d SMs)\n", info.name, info.major, info.minor,
                info.sm_count);
  }

  void elementwise_data() { add_dtype_rows("n", {{1, 1}, {1, 7}, {3, 1001}, {64, 768}, {512, 264}}); }
  void elementwise() {
    QFETCH(DType, dtype);
    QFETCH(qint64, rows);
    QFETCH(int, cols);
    const int64_t n = rows * cols;
    const Tol tol = tol_for(dtype);
    auto x = rounded(dtype, randn(n, 1, 2.f));
    auto y2 = rounded(dtype, randn(n, 2));
    auto dy = rounded(dtype, randn(n, 3));
    auto bias = rounded(dtype, randn(cols, 4));
    DevBuf dx_ = upload(dtype, x), dy_ = upload(dtype, dy), d2 = upload(dtype, y2), db = upload(dtype, bias);
    DevBuf out(n * 4 + 16), out2(n * 4 + 16);
    std::vector<float> want(n), want2(n);
    for (auto kind : {cpu::GeluKind::kErf, cpu::GeluKind::kTanh}) {
      LW_EXPECT_OK(cuda::gelu_forward(dtype, out.get(), dx_.get(), n, kind, 0));
      cpu::gelu_forward(want.data(), x.data(), n, kind);
      LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "gelu_forward");
      LW_EXPECT_OK(cuda::gelu_backward(dtype, out.get(), dy_.get(), dx_.get(), n, kind, 0));
      cpu::gelu_backward(want.data(), dy.data(), x.data(), n, kind);
      LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "gelu_backward");
      LW_EXPECT_OK(cuda::bias_gelu_forward(dtype, out.get(), dx_.get(), db.get(), rows, cols, kind, 0));
      cpu::bias_gelu_forward(want.data(), x.data(), bias.data(), rows, cols, kind);
      LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "bias_gelu_forward");
      // The fused backward: dy * gelu'(x + bias), the sum rounded to the storage type.
      if (cuda::bias_gelu_packets_ok(dtype, rows, cols, out.get(), dy_.get(), dx_.get(), db.get())) {
        LW_EXPECT_OK(cuda::bias_gelu_backward(dtype, out.get(), dy_.get(), dx_.get(), db.get(), rows, cols, kind, 0));
        std::vector<float> pre(x);
        cpu::add_bias(pre.data(), bias.data(), rows, cols);
        pre = rounded(dtype, pre);
        cpu::gelu_backward(want.data(), dy.data(), pre.data(), n, kind);
        LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "bias_gelu_backward");
      } else {
        QVERIFY2(cols % 8 != 0, "rows of whole 16-byte packets must take the fused backward");
      }
    }
    LW_EXPECT_OK(cuda::silu_forward(dtype, out.get(), dx_.get(), n, 0));
    cpu::silu_forward(want.data(), x.data(), n);
    LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "silu_forward");
    LW_EXPECT_OK(cuda::silu_backward(dtype, out.get(), dy_.get(), dx_.get(), n, 0));
    cpu::silu_backward(want.data(), dy.data(), x.data(), n);
    LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "silu_backward");
    LW_EXPECT_OK(cuda::swiglu_forward(dtype, out.get(), dx_.get(), d2.get(), n, 0));
    cpu::swiglu_forward(want.data(), x.data(), y2.data(), n);
    LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "swiglu_forward");
    LW_EXPECT_OK(cuda::swiglu_backward(dtype, out.get(), out2.get(), dy_.get(), dx_.get(), d2.get(), n, 0));
    cpu::swiglu_backward(want.data(), want2.data(), dy.data(), x.data(), y2.data(), n);
    LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "swiglu_backward dgate");
    LW_EXPECT_CLOSE(download(dtype, out2, n), want2, tol, "swiglu_backward dup");
    LW_EXPECT_OK(cuda::tanh_forward(dtype, out.get(), dx_.get(), n, 0));
    cpu::tanh_forward(want.data(), x.data(), n);
    LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "tanh_forward");
    auto ty = rounded(dtype, want);
    DevBuf ty_ = upload(dtype, ty);
    LW_EXPECT_OK(cuda::tanh_backward(dtype, out.get(), dy_.get(), ty_.get(), n, 0));
    cpu::tanh_backward(want.data(), dy.data(), ty.data(), n);
    LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "tanh_backward");
    LW_EXPECT_OK(cuda::add(dtype, out.get(), dx_.get(), d2.get(), n, 0));
    cpu::add(want.data(), x.data(), y2.data(), n);
    LW_EXPECT_CLOSE(download(dtype, out, n), want, tol, "add");
    LW_EXPECT_OK(cuda::scale(dtype, out.get(), n, -0.37f, 0));
    cpu::scale(want.data(), n, -0.37f);
    LW_EXPECT_CLOSE(download(dtype, out, n), rounded(dtype, want), tol, "scale");
    // add_bias in place, bias_backward accumulating onto a non-zero gradient
    DevBuf yb = upload(dtype, x);
    LW_EXPECT_OK(cuda::add_bias(dtype, yb.get(), db.get(), rows, cols, 0));
    want = x;
    cpu::add_bias(want.data(), bias.data(), rows, cols);
    LW_EXPECT_CLOSE(download(dtype, yb, n), want, tol, "add_bias");
    auto g0 = rounded(dtype, randn(cols, 5));
    want = g0;
    want.resize(cols);
    cpu::bias_backward(want.data(), dy.data(), rows, cols);
    const size_t scratch_bytes = cuda::bias_backward_scratch_bytes(rows, cols);
    DevBuf scratch(scratch_bytes + 16);
    for (bool two_pass : {false, true}) {  // one pass without scratch, two with it
      DevBuf gb = upload(dtype, g0);
      LW_EXPECT_OK(cuda::bias_backward(dtype, gb.get(), dy_.get(), rows, cols,
                                       two_pass ? scratch.as<float>() : nullptr,
                                       two_pass ? scratch_bytes : 0, 0));
      LW_EXPECT_CLOSE(download(dtype, gb, cols), want, tol_for(dtype, 2.0),
                      two_pass ? "bias_backward (two passes)" : "bias_backward");
    }
    // sum of squares, accumulated over two calls
    DevBuf ss(16);
    LW_EXPECT_OK(cuda::sum_squares(dtype, ss.as<float>(), dx_.get(), n, false, 0));
    LW_EXPECT_OK(cuda::sum_squares(dtype, ss.as<float>(), dy_.get(), n, true, 0));
    const double want_ss = cpu::sum_squares(x.data(), n) + cpu::sum_squares(dy.data(), n);
    LW_EXPECT_CLOSE(download(DType::kF32, ss, 1), std::vector<float>{static_cast<float>(want_ss)},
                    (Tol{1e-6, 1e-4}), "sum_squares");
  }

  void cast_data() { add_dtype_rows("n", {{1, 1}, {5, 999}}); }
  void cast() {
    QFETCH(DType, dtype);
    QFETCH(qint64, rows);
    QFETCH(int, cols);
    const int64_t n = rows * cols;
    auto x = randn(n, 11, 3.f);
    DevBuf src = upload(DType::kF32, x), dst(n * 4 + 16), back(n * 4 + 16);
    LW_EXPECT_OK(cuda::cast(dtype, dst.get(), DType::kF32, src.get(), n, 0));
    // Round to nearest even on the GPU must equal the host conversion bit for bit.
    LW_EXPECT_CLOSE(download(dtype, dst, n), rounded(dtype, x), (Tol{0, 0}), "cast f32 -> dtype");
    LW_EXPECT_OK(cuda::cast(DType::kF32, back.get(), dtype, dst.get(), n, 0));
    LW_EXPECT_CLOSE(download(DType::kF32, back, n), rounded(dtype, x), (Tol{0, 0}), "cast back");
  }

  // Beyond kRowShapes: warps walking several rows (the backward's row loop, partial
  // blocks of rows) at the register-held widths 768, 512 and 1024.
  void layernorm_data() {
    auto shapes = kRowShapes;
    shapes.insert(shapes.end(), {{6001, 768}, {2113, 512}, {300, 1024}});
    add_dtype_rows("rows x C", shapes);
  }
  void layernorm() {
    QFETCH(DType, dtype);
    QFETCH(qint64, rows);
    QFETCH(int, cols);
    const int64_t n = rows * cols;
    const int C = cols;
    auto x = rounded(dtype, randn(n, 21, 1.5f, 0.3f));
    auto r = rounded(dtype, randn(n, 22));
    auto w = rounded(dtype, randn(C, 23, 0.5f, 1.f));
    auto b = rounded(dtype, randn(C, 24, 0.2f));
    auto dy = rounded(dtype, randn(n, 25));
    auto dw0 = rounded(dtype, randn(C, 26)), db0 = rounded(dtype, randn(C, 27));
    DevBuf x_ = upload(dtype, x), r_ = upload(dtype, r), w_ = upload(dtype, w), b_ = upload(dtype, b);
    DevBuf dy_ = upload(dtype, dy), dw_ = upload(dtype, dw0), db_ = upload(dtype, db0);
    DevBuf y_(n * 4 + 16), sum_(n * 4 + 16), dx_(n * 4 + 16), mean_(rows * 4 + 16), rstd_(rows * 4 + 16);
    const size_t sb = cuda::norm_backward_scratch_bytes(rows, C);
    DevBuf scratch(sb);
    std::vector<float> y(n), mean(rows), rstd(rows), dx(n), dw = dw0, db = db0, sum(n);

    LW_EXPECT_OK(cuda::layernorm_forward(dtype, y_.get(), mean_.as<float>(), rstd_.as<float>(), x_.get(),
                                         w_.get(), b_.get(), rows, C, 1e-5f, 0));
    cpu::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), rows, C, 1e-5f);
    LW_EXPECT_CLOSE(download(dtype, y_, n), y, tol_for(dtype), "layernorm y");
    LW_EXPECT_CLOSE(download(DType::kF32, mean_, rows), mean, (Tol{1e-5, 1e-4}), "layernorm mean");
    LW_EXPECT_CLOSE(download(DType::kF32, rstd_, rows), rstd, (Tol{1e-5, 1e-4}), "layernorm rstd");

    LW_EXPECT_OK(cuda::layernorm_backward(dtype, dx_.get(), dw_.get(), db_.get(), dy_.get(), x_.get(), w_.get(),
                                          mean_.as<float>(), rstd_.as<float>(), rows, C,
                                          scratch.as<float>(), sb, 0));
    cpu::layernorm_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), mean.data(),
                            rstd.data(), rows, C);
    LW_EXPECT_CLOSE(download(dtype, dx_, n), dx, tol_for(dtype, 2.0), "layernorm dx");
    LW_EXPECT_CLOSE(download(dtype, dw_, C), dw, tol_for(dtype, 2.0), "layernorm dw");
    LW_EXPECT_CLOSE(download(dtype, db_, C), db, tol_for(dtype, 2.0), "layernorm db");

    LW_EXPECT_OK(cuda::residual_layernorm_forward(dtype, sum_.get(), y_.get(), mean_.as<float>(),
                                                  rstd_.as<float>(), x_.get(), r_.get(), w_.get(), b_.get(),
                                                  rows, C, 1e-5f, 0));
    cpu::residual_layernorm_forward(sum.data(), y.data(), mean.data(), rstd.data(), x.data(), r.data(),
                                    w.data(), b.data(), rows, C, 1e-5f);
    LW_EXPECT_CLOSE(download(dtype, sum_, n), sum, tol_for(dtype), "residual_layernorm sum");
    LW_EXPECT_CLOSE(download(dtype, y_, n), y, tol_for(dtype, 2.0), "residual_layernorm y");

    LW_EXPECT_OK(cuda::rmsnorm_forward(dtype, y_.get(), rstd_.as<float>(), x_.get(), w_.get(), rows, C, 1e-6f, 0));
    cpu::rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, C, 1e-6f);
    LW_EXPECT_CLOSE(download(dtype, y_, n), y, tol_for(dtype), "rmsnorm y");
    dw = dw0;
    DevBuf dw2 = upload(dtype, dw0);
    LW_EXPECT_OK(cuda::rmsnorm_backward(dtype, dx_.get(), dw2.get(), dy_.get(), x_.get(), w_.get(),
                                        rstd_.as<float>(), rows, C, scratch.as<float>(), sb, 0));
    cpu::rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), rows, C);
    LW_EXPECT_CLOSE(download(dtype, dx_, n), dx, tol_for(dtype, 2.0), "rmsnorm dx");
    LW_EXPECT_CLOSE(download(dtype, dw2, C), dw, tol_for(dtype, 2.0), "rmsnorm dw");
  }

  void softmax_data() { add_dtype_rows("rows x cols", {{1, 1}, {7, 33}, {5, 512}, {3, 5000}}); }
  void softmax() {
    QFETCH(DType, dtype);
    QFETCH(qint64, rows);
    QFETCH(int, cols);
    const int64_t n = rows * cols;
    auto x = rounded(dtype, randn(n, 31, 3.f));
    auto dy = rounded(dtype, randn(n, 32));
    DevBuf x_ = upload(dtype, x), dy_ = upload(dtype, dy), y_(n * 4 + 16), dx_(n * 4 + 16);
    std::vector<float> y(n), dx(n);
    LW_EXPECT_OK(cuda::softmax_forward(dtype, y_.get(), x_.get(), rows, cols, 0));
    cpu::softmax_forward(y.data(), x.data(), rows, cols);
    LW_EXPECT_CLOSE(download(dtype, y_, n), y, tol_for(dtype), "softmax y");
    auto yr = rounded(dtype, y);
    DevBuf yr_ = upload(dtype, yr);
    LW_EXPECT_OK(cuda::softmax_backward(dtype, dx_.get(), dy_.get(), yr_.get(), rows, cols, 0));
    cpu::softmax_backward(dx.data(), dy.data(), yr.data(), rows, cols);
    LW_EXPECT_CLOSE(download(dtype, dx_, n), dx, tol_for(dtype, 2.0), "softmax dx");
  }

  void cross_entropy_data() { add_dtype_rows("N x V", {{1, 2}, {9, 7}, {17, 1000}, {4, 50257}}); }
  void cross_entropy() {
    QFETCH(DType, dtype);
    QFETCH(qint64, rows);
    QFETCH(int, cols);
    const int64_t N = rows;
    const int V = cols;
    auto logits = rounded(dtype, randn(N * V, 41, 2.f));
    std::vector<int32_t> tg(N);
    lw::PhiloxStream rng(42);
    for (auto& t : tg) t = static_cast<int32_t>(rng.below(V));
    if (N > 2) tg[1] = -100;  // an ignored row
    DevBuf l_ = upload(dtype, logits), t_ = upload_i32(tg), loss_(N * 4 + 16), lse_(N * 4 + 16),
        dl_(N * V * 4 + 16);
    for (float smooth : {0.f, 0.1f}) {
      std::vector<float> loss(N), lse(N), dl(N * V);
      LW_EXPECT_OK(cuda::cross_entropy_forward(dtype, loss_.as<float>(), lse_.as<float>(), l_.get(), t_.as<int32_t>(),
                                               N, V, -100, smooth, 0));
      cpu::cross_entropy_forward(loss.data(), lse.data(), logits.data(), tg.data(), N, V, -100, smooth);
      LW_EXPECT_CLOSE(download(DType::kF32, loss_, N), loss, (Tol{2e-5, 1e-4}), "cross_entropy losses");
      LW_EXPECT_CLOSE(download(DType::kF32, lse_, N), lse, (Tol{2e-5, 1e-4}), "cross_entropy lse");
      LW_EXPECT_OK(cuda::cross_entropy_backward(dtype, dl_.get(), l_.get(), lse_.as<float>(), t_.as<int32_t>(), N,
                                                V, -100, smooth, 0.25f, 0));
      cpu::cross_entropy_backward(dl.data(), logits.data(), lse.data(), tg.data(), N, V, -100, smooth, 0.25f);
      LW_EXPECT_CLOSE(download(dtype, dl_, N * V), dl, tol_for(dtype, 0.5), "cross_entropy dlogits");
    }
  }

  void embedding_data() { add_dtype_rows("n x C", {{1, 1}, {13, 33}, {64, 768}}); }
  void embedding() {
    QFETCH(DType, dtype);
    QFETCH(qint64, rows);
    QFETCH(int, cols);
    const int V = 50, C = cols;
    const int64_t n = rows;
    auto table = rounded(dtype, randn(int64_t{V} * C, 51));
    auto dy = rounded(dtype, randn(n * C, 52, 0.1f));
    std::vector<int32_t> ids(n);
    for (int64_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 7) % V);  // repeats
    DevBuf t_ = upload(dtype, table), ids_ = upload_i32(ids), y_(n * C * 4 + 16), dy_ = upload(dtype, dy);
    std::vector<float> y(n * C);
    LW_EXPECT_OK(cuda::embedding_forward(dtype, y_.get(), t_.get(), ids_.as<int32_t>(), n, C, 0));
    cpu::embedding_forward(y.data(), table.data(), ids.data(), n, C);
    LW_EXPECT_CLOSE(download(dtype, y_, n * C), y, (Tol{0, 0}), "embedding_forward");
    DevBuf dt_ = upload(dtype, table);
    std::vector<float> dt = table;
    LW_EXPECT_OK(cuda::embedding_backward(dtype, dt_.get(), dy_.get(), ids_.as<int32_t>(), n, C, V, 0));
    cpu::embedding_backward(dt.data(), dy.data(), ids.data(), n, C);
    LW_EXPECT_CLOSE(download(dtype, dt_, int64_t{V} * C), dt, tol_for(dtype), "embedding_backward");
  }

  void rope_data() {
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<int>("T");
    QTest::addColumn<int>("D");
    QTest::addColumn<bool>("positions");
    for (DType t : {DType::kF32, DType::kBF16, DType::kF16})
      for (auto [T, D, pos] : {std::tuple{1, 64, false}, {37, 64, true}, {130, 128, false}, {5, 6, true}})
        QTest::newRow(qPrintable(QString("%1 T%2 D%3%4").arg(dtype_tag(t)).arg(T).arg(D).arg(pos ? " pos" : "")))
            << t << T << D << pos;
  }
  void rope() {
    QFETCH(DType, dtype);
    QFETCH(int, T);
    QFETCH(int, D);
    QFETCH(bool, positions);
    const int B = 2, H = 3;
    const int64_t n = int64_t{B} * H * T * D;
    auto x = rounded(dtype, randn(n, 61));
    std::vector<int32_t> pos(B * T);
    for (int i = 0; i < B * T; ++i) pos[i] = (i * 13) % 500;
    DevBuf x_ = upload(dtype, x), p_ = upload_i32(pos);
    const int32_t* pp = positions ? p_.as<int32_t>() : nullptr;
    std::vector<float> want = x;
    LW_EXPECT_OK(cuda::rope_forward(dtype, x_.get(), B, H, T, D, pp, 10000.f, 0));
    cpu::rope_forward(want.data(), B, H, T, D, positions ? pos.data() : nullptr, 10000.f);
    LW_EXPECT_CLOSE(download(dtype, x_, n), want, tol_for(dtype, 2.0), "rope_forward");
    LW_EXPECT_OK(cuda::rope_backward(dtype, x_.get(), B, H, T, D, pp, 10000.f, 0));
    cpu::rope_backward(want.data(), B, H, T, D, positions ? pos.data() : nullptr, 10000.f);
    LW_EXPECT_CLOSE(download(dtype, x_, n), want, tol_for(dtype, 3.0), "rope_backward");
  }

  // Sizes that are whole 16-byte packets take the packet kernel (Philox blocks shared by
  // four positions), the others the element-wise one; every stream offset modulo 4.
  void dropout_data() { add_dtype_rows("n", {{1, 1}, {1, 1001}, {1, 100003}, {1, 4096}, {3, 8000}}); }
  void dropout() {
    QFETCH(DType, dtype);
    QFETCH(qint64, rows);
    QFETCH(int, cols);
    const int64_t n = rows * cols;
    auto x = rounded(dtype, randn(n, 71, 1.f, 3.f));  // shifted: no exact zeros in x
    DevBuf x_ = upload(dtype, x), y_(n * 4 + 16);
    for (uint64_t offset : {777u, 780u, 778u, 779u})
      for (float p : {0.f, 0.1f, 0.5f}) {
        std::vector<float> want(n);
        LW_EXPECT_OK(cuda::dropout_forward(dtype, y_.get(), x_.get(), n, p, 1234, offset, 0));
        cpu::dropout_forward(want.data(), x.data(), n, p, 1234, offset);
        auto got = download(dtype, y_, n);
        for (int64_t i = 0; i < n; ++i)
          if ((got[i] == 0.f) != (want[i] == 0.f))
            QFAIL(qPrintable(QString("dropout mask differs from the CPU's at element %1 (p=%2, offset %3)")
                                 .arg(i).arg(p).arg(offset)));
        LW_EXPECT_CLOSE(got, want, tol_for(dtype), "dropout_forward values");
        LW_EXPECT_OK(cuda::dropout_backward(dtype, y_.get(), x_.get(), n, p, 1234, offset, 0));
        cpu::dropout_backward(want.data(), x.data(), n, p, 1234, offset);
        LW_EXPECT_CLOSE(download(dtype, y_, n), want, tol_for(dtype), "dropout_backward");
      }
  }

  void adamw_data() { add_dtype_rows("n", {{1, 1}, {1, 1003}, {1, 65536}}); }
  void adamw() {
    QFETCH(DType, dtype);
    QFETCH(qint64, rows);
    QFETCH(int, cols);
    const int64_t n = rows * cols;
    auto p = randn(n, 81), m = randn(n, 82, 0.01f), v = randn(n, 83, 0.f, 0.001f);
    for (auto& e : v) e = std::fabs(e) + 1e-4f;
    auto g = rounded(dtype, randn(n, 84));
    DevBuf p_ = upload(DType::kF32, p), m_ = upload(DType::kF32, m), v_ = upload(DType::kF32, v),
        g_ = upload(dtype, g), copy_(n * 4 + 16);
    for (int t = 1; t <= 3; ++t) {
      cuda::AdamWArgs a{1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, t, 0.5f};
      LW_EXPECT_OK(cuda::adamw_step(p_.as<float>(), dtype, g_.get(), m_.as<float>(), v_.as<float>(), n, a,
                                    DType::kBF16, copy_.get(), 0));
      cpu::adamw_step(p.data(), g.data(), m.data(), v.data(), n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, t, 0.5f);
    }
    LW_EXPECT_CLOSE(download(DType::kF32, p_, n), p, (Tol{1e-6, 1e-5}), "adamw param");
    LW_EXPECT_CLOSE(download(DType::kF32, m_, n), m, (Tol{1e-6, 1e-5}), "adamw m");
    LW_EXPECT_CLOSE(download(DType::kF32, v_, n), v, (Tol{1e-7, 1e-5}), "adamw v");
    LW_EXPECT_CLOSE(download(DType::kBF16, copy_, n), rounded(DType::kBF16, p), (Tol{1e-6, 8e-3}),
                    "adamw bf16 copy");
  }

  // Several tensors in one launch (odd sizes take the one-element path, 70000 spans two
  // chunks), each with its own weight decay, against the CPU step of each.
  void adamw_multi() {
    const std::vector<int64_t> sizes = {1, 1003, 65536, 70000, 4, 768};
    struct Host { std::vector<float> p, m, v, g; };
    std::vector<Host> h;
    std::vector<DevBuf> bufs;
    std::vector<cuda::AdamWTensor> ts;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const int64_t n = sizes[i];
      Host x{randn(n, 90 + i), randn(n, 100 + i, 0.01f), randn(n, 110 + i, 0.f, 0.001f),
             rounded(DType::kBF16, randn(n, 120 + i))};
      for (auto& e : x.v) e = std::fabs(e) + 1e-4f;
      bufs.push_back(upload(DType::kF32, x.p));
      bufs.push_back(upload(DType::kF32, x.m));
      bufs.push_back(upload(DType::kF32, x.v));
      bufs.push_back(upload(DType::kBF16, x.g));
      bufs.emplace_back(n * 2 + 16);
      h.push_back(std::move(x));
    }
    for (size_t i = 0; i < sizes.size(); ++i)
      ts.push_back({bufs[5 * i].as<float>(), bufs[5 * i + 3].get(), bufs[5 * i + 1].as<float>(),
                    bufs[5 * i + 2].as<float>(), bufs[5 * i + 4].get(), sizes[i], i % 2 ? 0.f : 0.01f});
    for (int t = 1; t <= 3; ++t) {
      cuda::AdamWArgs a{1e-3f, 0.9f, 0.999f, 1e-8f, 0.5f /* ignored */, t, 0.5f};
      LW_EXPECT_OK(cuda::adamw_step_multi(ts.data(), static_cast<int>(ts.size()), DType::kBF16, DType::kBF16, a, 0));
      for (size_t i = 0; i < sizes.size(); ++i)
        cpu::adamw_step(h[i].p.data(), h[i].g.data(), h[i].m.data(), h[i].v.data(), sizes[i], 1e-3f, 0.9f,
                        0.999f, 1e-8f, i % 2 ? 0.f : 0.01f, t, 0.5f);
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      const int64_t n = sizes[i];
      LW_EXPECT_CLOSE(download(DType::kF32, bufs[5 * i], n), h[i].p, (Tol{1e-6, 1e-5}), "adamw_multi param");
      LW_EXPECT_CLOSE(download(DType::kF32, bufs[5 * i + 1], n), h[i].m, (Tol{1e-6, 1e-5}), "adamw_multi m");
      LW_EXPECT_CLOSE(download(DType::kF32, bufs[5 * i + 2], n), h[i].v, (Tol{1e-7, 1e-5}), "adamw_multi v");
      LW_EXPECT_CLOSE(download(DType::kBF16, bufs[5 * i + 4], n), rounded(DType::kBF16, h[i].p),
                      (Tol{1e-6, 8e-3}), "adamw_multi bf16 copy");
    }
  }

  void transpose12() {
    const int B = 2, X = 3, Y = 5, D = 7;
    const int64_t n = int64_t{B} * X * Y * D;
    auto x = randn(n, 91);
    DevBuf x_ = upload(DType::kF32, x), y_(n * 4);
    std::vector<float> want(n);
    LW_EXPECT_OK(cuda::transpose12(DType::kF32, y_.get(), x_.get(), B, X, Y, D, 0));
    cpu::transpose12(want.data(), x.data(), B, X, Y, D);
    LW_EXPECT_CLOSE(download(DType::kF32, y_, n), want, (Tol{0, 0}), "transpose12");
  }

  void bad_input() {
    DevBuf buf(64);
    lw::Status st = cuda::gelu_forward(DType::kI32, buf.get(), buf.get(), 4, cpu::GeluKind::kErf, 0);
    QCOMPARE(st.code(), lw::StatusCode::kUnsupported);
    QVERIFY2(st.message().find("I32") != std::string::npos, st.message().c_str());
    st = cuda::layernorm_backward(DType::kF32, buf.get(), buf.get(), buf.get(), buf.get(), buf.get(),
                                  buf.get(), buf.as<float>(), buf.as<float>(), 4, 4, nullptr, 0, 0);
    QCOMPARE(st.code(), lw::StatusCode::kInvalidArgument);
    QVERIFY2(st.message().find("scratch") != std::string::npos, st.message().c_str());
  }
};

QTEST_GUILESS_MAIN(TestCudaKernels)
#include "test_cuda_kernels.moc"
