// The table-driven op test: every case of op_cases.cpp × its dtypes.
// CPU rows: forward against the double reference (inputs rounded to the row's dtype
// first), and the backward against central differences of the double reference.
// CUDA rows (LW_TEST_OPS_BACKEND=cuda, registered as test_ops_cuda): the same inputs
// on the GPU, outputs and gradients compared with the CPU backend.
// Errors are max|got - want| / max(max|want|, 1e-3) per output; tolerances per dtype.
#include <QtTest>

#include <cmath>
#include <cstdlib>

#include "op_cases.h"

#if LW_WITH_CUDA
#include "engine/backend/cuda/caching_allocator.h"
#include "engine/backend/cuda/cuda_kernels.h"
#endif

using namespace optest;
using lw::DType;

namespace {

struct Tol {
  double fwd, grad;
};
Tol cpu_tol(DType d) {
  switch (d) {
    case DType::kBF16: return {1.6e-2, 4e-2};
    case DType::kF16: return {2.5e-3, 6e-3};
    default: return {2e-5, 2e-4};
  }
}
Tol cuda_tol(DType d) {
  switch (d) {
    case DType::kBF16: return {2e-2, 3e-2};
    case DType::kF16: return {4e-3, 6e-3};
    default: return {1e-4, 2e-4};
  }
}

bool cuda_rows() {
  const char* b = std::getenv("LW_TEST_OPS_BACKEND");
  return b && std::string(b) == "cuda";
}

// `floor` bounds the scale from below: gradients are linear in the upstream
// gradient, so a gradient that is exactly zero in exact arithmetic (layernorm with
// C=1, attention dq with T=1) is measured in units of max|dy|, not of 1e-3.
double rel_err(const std::vector<double>& got, const std::vector<double>& want, int64_t* worst,
               double floor = 1e-3) {
  double max_ref = 0.0, max_diff = 0.0;
  *worst = -1;
  for (size_t i = 0; i < want.size(); ++i) max_ref = std::max(max_ref, std::fabs(want[i]));
  for (size_t i = 0; i < want.size(); ++i) {
    double d = std::fabs(got[i] - want[i]);
    if (std::isinf(want[i]) && got[i] == want[i]) d = 0.0;  // lse of a fully masked row
    if (!(d <= max_diff)) {
      max_diff = d;
      *worst = static_cast<int64_t>(i);
    }
  }
  return max_diff / std::max(max_ref, floor);
}

std::vector<double> to_doubles(const lw::Tensor& t) {
  auto v = t.to_float_vector();
  if (!v.is_ok()) return {};
  return std::vector<double>(v->begin(), v->end());
}

// A finite reference for comparison: -inf entries (masked lse) become a large sentinel on
// both sides so they compare equal.
std::vector<double> finite(std::vector<double> v) {
  for (double& x : v)
    if (std::isinf(x)) x = x < 0 ? -1e30 : 1e30;
  return v;
}

QString check(const QString& what, const std::vector<double>& got, const std::vector<double>& want,
              double tol, double floor = 1e-3) {
  if (got.size() != want.size())
    return QString("%1: %2 values, expected %3").arg(what).arg(got.size()).arg(want.size());
  int64_t worst = 0;
  double e = rel_err(finite(got), finite(want), &worst, floor);
  if (e <= tol) return {};
  return QString("%1: error %2 > %3 (element %4: got %5, want %6)")
      .arg(what).arg(e, 0, 'g', 3).arg(tol).arg(worst)
      .arg(worst >= 0 ? got[worst] : 0.0, 0, 'g', 9).arg(worst >= 0 ? want[worst] : 0.0, 0, 'g', 9);
}

// Inputs of one row: tensors on the CPU and the double values they actually hold.
struct Inputs {
  Tensors t;
  std::vector<Buf> b;
};

Inputs make_inputs(const OpCase& c, DType dtype, uint64_t seed) {
  lw::PhiloxStream rng(seed);
  std::vector<Buf> raw;
  for (const InSpec& s : c.ins) {
    Buf b = ref::zeros(s.shape);
    int64_t T = s.shape.empty() ? 1 : s.shape.back();
    for (int64_t i = 0; i < b.n(); ++i) {
      switch (s.kind) {
        case In::kInt: b.v[i] = s.lo + static_cast<double>(rng.below(s.hi - s.lo)); break;
        case In::kMask: b.v[i] = (i % T == 0 || rng.uniform() < 0.7f) ? 1.0 : 0.0; break;
        case In::kF32Pos: b.v[i] = s.scale * (0.1 + std::fabs(rng.normal())); break;
        default: b.v[i] = s.scale * rng.normal(); break;
      }
    }
    raw.push_back(std::move(b));
  }
  if (c.fixup) c.fixup(raw);
  Inputs in;
  for (size_t k = 0; k < c.ins.size(); ++k) {
    const InSpec& s = c.ins[k];
    lw::Tensor t;
    if (s.kind == In::kInt || s.kind == In::kMask) {
      std::vector<int32_t> ints(raw[k].v.begin(), raw[k].v.end());
      t = lw::Tensor::from_ints(ints, s.shape).value();
    } else {
      DType d = (s.kind == In::kF32 || s.kind == In::kF32Pos) ? DType::kF32 : dtype;
      std::vector<float> f(raw[k].v.begin(), raw[k].v.end());
      t = lw::Tensor::from_floats(f, s.shape, d).value();
      raw[k].v = to_doubles(t);  // the values after rounding to the dtype
    }
    in.t.push_back(t);
  }
  in.b = std::move(raw);
  return in;
}

// sum_k <dy_k, ref(x)_k> for the differentiable outputs.
double objective(const OpCase& c, const std::vector<Buf>& x, const std::vector<Buf>& dys) {
  std::vector<Buf> out = c.ref(x);
  double s = 0.0;
  for (int k = 0; k < c.n_diff; ++k)
    for (int64_t i = 0; i < out[k].n(); ++i) s += dys[k].v[i] * out[k].v[i];
  return s;
}

uint64_t seed_of(const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  return h;
}

}  // namespace

class TestOps : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() {
#if LW_WITH_CUDA
    if (cuda_rows()) {
      if (lw::cuda::device_count() == 0) QSKIP("no CUDA device");
      QVERIFY(lw::cuda::init_backend().is_ok());
    }
#else
    if (cuda_rows()) QSKIP("built without CUDA");
#endif
  }

  void op_data() {
    QTest::addColumn<int>("index");
    QTest::addColumn<int>("dtype");
    const auto& all = cases();
    for (size_t i = 0; i < all.size(); ++i)
      for (DType d : all[i].dtypes) {
        std::string name = all[i].name + "/" + lw::dtype_name(d);
        QTest::newRow(name.c_str()) << static_cast<int>(i) << static_cast<int>(d);
      }
  }

  void op() {
    QFETCH(int, index);
    QFETCH(int, dtype);
    const OpCase& c = cases()[index];
    DType dt = static_cast<DType>(dtype);
    Inputs in = make_inputs(c, dt, seed_of(c.name));
    auto outs = c.fwd(in.t);
    QVERIFY2(outs.is_ok(), outs.status().to_string().c_str());

    // Output gradients, rounded to each output's dtype.
    lw::PhiloxStream rng(seed_of(c.name) ^ 0x5bd1e995);
    Tensors dys;
    std::vector<Buf> dyb;
    if (c.bwd) {
      for (int k = 0; k < c.n_diff; ++k) {
        const lw::Tensor& o = (*outs)[k];
        std::vector<float> g(o.numel());
        for (float& x : g) x = rng.normal();
        dys.push_back(lw::Tensor::from_floats(g, o.shape(), o.dtype()).value());
        dyb.push_back({o.shape(), to_doubles(dys.back())});
      }
    }
    if (cuda_rows()) {
      run_cuda(c, dt, in, *outs, dys);
      return;
    }
    Tol tol = cpu_tol(dt);
    if (dt != DType::kF32) tol.grad *= c.narrow_grad_tol;
    std::vector<Buf> want = c.ref(in.b);
    QCOMPARE(outs->size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) {
      QString err = check(QString("output %1").arg(k), to_doubles((*outs)[k]), want[k].v, tol.fwd);
      QVERIFY2(err.isEmpty(), qPrintable(err));
    }
    if (!c.bwd || c.large) return;
    auto grads = c.bwd(in.t, dys);
    QVERIFY2(grads.is_ok(), grads.status().to_string().c_str());
    size_t g = 0;
    for (size_t k = 0; k < c.ins.size(); ++k) {
      if (c.ins[k].kind != In::kGrad) continue;
      QVERIFY(g < grads->size());
      std::vector<double> fd(in.b[k].v.size());
      std::vector<Buf> x = in.b;
      for (size_t i = 0; i < fd.size(); ++i) {
        double h = 1e-4 * std::max(1.0, std::fabs(in.b[k].v[i]));
        x[k].v[i] = in.b[k].v[i] + h;
        double lp = objective(c, x, dyb);
        x[k].v[i] = in.b[k].v[i] - h;
        double lm = objective(c, x, dyb);
        x[k].v[i] = in.b[k].v[i];
        fd[i] = (lp - lm) / (2 * h);
      }
      QString err = check(QString("gradient of input %1").arg(k), to_doubles((*grads)[g]), fd, tol.grad);
      QVERIFY2(err.isEmpty(), qPrintable(err));
      ++g;
    }
    QCOMPARE(g, grads->size());
  }

 private:
  void run_cuda(const OpCase& c, DType dt, const Inputs& in, const Tensors& cpu_outs,
                const Tensors& dys) {
#if LW_WITH_CUDA
    Tol tol = cuda_tol(dt);
    if (dt != DType::kF32) tol.grad *= c.narrow_grad_tol;
    auto to_dev = [](const Tensors& ts) {
      Tensors d;
      for (const auto& t : ts) d.push_back(t.to(lw::Device::cuda(0)).value());
      return d;
    };
    Tensors din = to_dev(in.t);
    auto outs = c.fwd(din);
    QVERIFY2(outs.is_ok(), outs.status().to_string().c_str());
    QCOMPARE(outs->size(), cpu_outs.size());
    for (size_t k = 0; k < cpu_outs.size(); ++k) {
      QCOMPARE((*outs)[k].device(), lw::Device::cuda(0));
      QString err = check(QString("cuda output %1").arg(k), to_doubles((*outs)[k]),
                          to_doubles(cpu_outs[k]), tol.fwd);
      QVERIFY2(err.isEmpty(), qPrintable(err));
    }
    if (!c.bwd) return;
    auto cg = c.bwd(in.t, dys);
    QVERIFY2(cg.is_ok(), cg.status().to_string().c_str());
    auto dg = c.bwd(din, to_dev(dys));
    QVERIFY2(dg.is_ok(), dg.status().to_string().c_str());
    QCOMPARE(dg->size(), cg->size());
    double max_dy = 1e-3;
    for (const auto& dy : dys)
      for (double v : to_doubles(dy)) max_dy = std::max(max_dy, std::fabs(v));
    for (size_t k = 0; k < cg->size(); ++k) {
      QString err = check(QString("cuda gradient %1").arg(k), to_doubles((*dg)[k]),
                          to_doubles((*cg)[k]), tol.grad, max_dy);
      QVERIFY2(err.isEmpty(), qPrintable(err));
    }
#else
    (void)c, (void)dt, (void)in, (void)cpu_outs, (void)dys;
    QSKIP("built without CUDA");
#endif
  }
};

QTEST_GUILESS_MAIN(TestOps)
#include "test_ops.moc"
