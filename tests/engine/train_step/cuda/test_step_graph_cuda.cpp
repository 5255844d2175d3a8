// CUDA-graph capture of a training step: a small GPT-2 and a small BERT classifier (random
// weights, bf16 and f32) run one eager warm-up step, then forward + backward + device-side
// clipping + AdamW (t and lr read from device memory) are captured once on the ops stream and
// replayed with new batches copied into the same input buffers. Losses and final weights must
// match the same steps run eagerly on another stream. Out-of-range token ids and targets
// must come back as the clear Status of the eager checks, eagerly and after a replay; the
// device clip must agree with the host clip.
#include <QtTest>

#include <cuda_runtime_api.h>

#include <cmath>
#include <random>
#include <string>
#include <utility>

#include "engine/backend/cuda/caching_allocator.h"
#include "engine/io/hf_config.h"
#include "engine/models/model.h"
#include "engine/ops/device_errors.h"
#include "engine/ops/ops.h"

using namespace lw;

namespace {

constexpr int64_t kB = 4, kT = 32, kV = 512, kLabels = 3;

std::string gpt2_config() {
  return R"({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
    "activation_function": "gelu_new", "n_embd": 128, "n_head": 2, "n_layer": 2,
    "n_positions": 64, "vocab_size": 512, "layer_norm_epsilon": 1e-5,
    "attn_pdrop": 0.0, "embd_pdrop": 0.0, "resid_pdrop": 0.0, "tie_word_embeddings": true})";
}

std::string bert_config() {
  return R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
    "hidden_act": "gelu", "hidden_size": 128, "num_attention_heads": 2, "num_hidden_layers": 2,
    "intermediate_size": 256, "max_position_embeddings": 64, "vocab_size": 512,
    "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0, "pad_token_id": 0,
    "id2label": {"0": "A", "1": "B", "2": "C"}, "label2id": {"A": 0, "B": 1, "C": 2}})";
}

// One host batch: ids [B,T], mask [B,T] (BERT), labels [B,T] (GPT-2) or [B] (BERT).
struct HostBatch {
  std::vector<int32_t> ids, mask, labels;
};

HostBatch make_batch(bool bert, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> tok(1, kV - 1), lab(0, kLabels - 1);
  HostBatch h;
  h.ids.resize(kB * kT);
  for (auto& x : h.ids) x = tok(rng);
  if (bert) {
    h.mask.assign(kB * kT, 1);
    for (int64_t b = 0; b < kB; ++b) {
      const int64_t len = kT - int64_t((seed + b) % 5) * 3;  // some padding, varying per batch
      for (int64_t t = len; t < kT; ++t) {
        h.mask[b * kT + t] = 0;
        h.ids[b * kT + t] = 0;
      }
    }
    h.labels.resize(kB);
    for (auto& x : h.labels) x = lab(rng);
  } else {
    h.labels = h.ids;
    h.labels[kT - 1] = -100;  // an ignored target
  }
  return h;
}

// A model, its optimizer state and fixed device buffers the step reads (a captured graph
// reads the same addresses on every replay).
struct Run {
  std::unique_ptr<models::Model> model;
  std::vector<Tensor> m, v, grads;
  Tensor hyper;             // [3] f32: lr and bias corrections of the step
  models::Batch batch;      // input buffers
  Tensor loss_stats, clip;  // outputs of the last step
  ops::AdamWConfig cfg{2e-3f, 0.9f, 0.999f, 1e-8f, 0.01f};
  bool bert = false;
};

Result<Run> make_run(bool bert, DType dtype) {
  Run r;
  r.bert = bert;
  LW_ASSIGN_OR_RETURN(io::HfConfig hf, io::HfConfig::parse("config.json", bert ? bert_config() : gpt2_config()));
  LW_ASSIGN_OR_RETURN(r.model, models::create_model(hf, {Device::cuda(0), dtype}));
  std::mt19937 rng(1234);  // same weights in every run
  std::normal_distribution<float> nd(0.f, 0.05f);
  for (auto& prm : r.model->params()) {
    std::vector<float> w(size_t(shape_numel(prm.spec.shape)));
    for (auto& x : w) x = prm.spec.role == models::Role::kNormWeight ? 1.f + nd(rng) : nd(rng);
    LW_ASSIGN_OR_RETURN(Tensor host, Tensor::from_floats(w, prm.spec.shape));
    LW_TRY(prm.weights().copy_from(host));
  }
  LW_TRY(r.model->sync_values());
  LW_TRY(r.model->alloc_grads());
  for (auto& prm : r.model->params()) {
    LW_ASSIGN_OR_RETURN(Tensor m, Tensor::zeros(prm.spec.shape, DType::kF32, Device::cuda(0)));
    LW_ASSIGN_OR_RETURN(Tensor v, Tensor::zeros(prm.spec.shape, DType::kF32, Device::cuda(0)));
    r.m.push_back(m);
    r.v.push_back(v);
    r.grads.push_back(prm.grad);
  }
  LW_ASSIGN_OR_RETURN(r.hyper, Tensor::zeros({3}, DType::kF32, Device::cuda(0)));
  LW_ASSIGN_OR_RETURN(r.batch.input_ids, Tensor::zeros({kB, kT}, DType::kI32, Device::cuda(0)));
  if (bert) {
    LW_ASSIGN_OR_RETURN(r.batch.attention_mask, Tensor::zeros({kB, kT}, DType::kI32, Device::cuda(0)));
    LW_ASSIGN_OR_RETURN(r.batch.labels, Tensor::zeros({kB}, DType::kI32, Device::cuda(0)));
  } else {
    LW_ASSIGN_OR_RETURN(r.batch.labels, Tensor::zeros({kB, kT}, DType::kI32, Device::cuda(0)));
  }
  return r;
}

// Host-side inputs of step t: copied into the fixed buffers (outside any capture).
Status set_inputs(Run& r, const HostBatch& h, int t) {
  LW_ASSIGN_OR_RETURN(Tensor ids, Tensor::from_ints(h.ids, {kB, kT}));
  LW_TRY(r.batch.input_ids.copy_from(ids));
  if (r.bert) {
    LW_ASSIGN_OR_RETURN(Tensor mask, Tensor::from_ints(h.mask, {kB, kT}));
    LW_TRY(r.batch.attention_mask.copy_from(mask));
  }
  LW_ASSIGN_OR_RETURN(Tensor labels, Tensor::from_ints(h.labels, r.batch.labels.shape()));
  LW_TRY(r.batch.labels.copy_from(labels));
  ops::AdamWConfig c = r.cfg;
  c.lr = r.cfg.lr * (1.f - 0.05f * float(t));  // a decaying schedule: lr changes every step
  return ops::adamw_write_hyper(r.hyper, c, t);
}

// The step body, the same eagerly and under capture: nothing in it reads device memory on
// the host.
Status step(Run& r) {
  ops::DeferredChecks deferred;
  LW_TRY(r.model->zero_grads());
  models::ForwardOptions fo;
  fo.keep_activations = true;
  fo.dropout = 0.0f;
  LW_ASSIGN_OR_RETURN(models::ForwardResult res, r.model->forward(r.batch, fo));
  LW_TRY(r.model->backward());
  r.loss_stats = res.loss_stats;
  LW_ASSIGN_OR_RETURN(r.clip, ops::clip_grad_norm_device(r.grads, 1.0f, /*scale_grads=*/false));
  LW_ASSIGN_OR_RETURN(Tensor factor, r.clip.slice(1, 1));
  std::vector<ops::AdamWSlot> adam;
  auto& params = r.model->params();
  for (size_t i = 0; i < params.size(); ++i) {
    auto& prm = params[i];
    const bool decay = prm.spec.role == models::Role::kWeight || prm.spec.role == models::Role::kEmbedding;
    adam.push_back({&prm.weights(), &prm.grad, &r.m[i], &r.v[i],
                     prm.master.defined() ? &prm.value : nullptr, decay ? r.cfg.weight_decay : 0.f,
                     &prm.spec.name});
  }
  return ops::adamw_step_multi(adam, r.cfg, /*t (hyper replaces it)=*/1, 1.0f,
                               ops::AdamWDeviceInputs{&factor, &r.hyper});
}

// A captured step and its executable graph.
struct StepGraph {
  cudaGraphExec_t exec = nullptr;
  ~StepGraph() {
    if (exec) cudaGraphExecDestroy(exec);
  }
};

Status capture(Run& r, cudaStream_t stream, StepGraph& g) {
  // The last eager step's outputs go back to the allocator's cache, so that the captured
  // step finds every block it asks for there (no cudaMalloc while capturing).
  r.loss_stats = Tensor();
  r.clip = Tensor();
  LW_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess,
           "cudaStreamBeginCapture failed");
  Status st = step(r);
  cudaGraph_t graph = nullptr;
  cudaError_t end = cudaStreamEndCapture(stream, &graph);
  if (!st.is_ok()) {
    if (graph) cudaGraphDestroy(graph);
    return st.with_context("capturing the step");
  }
  LW_CHECK(end == cudaSuccess, std::string("cudaStreamEndCapture: ") + cudaGetErrorString(end));
  cudaError_t inst = cudaGraphInstantiate(&g.exec, graph, 0);
  cudaGraphDestroy(graph);
  LW_CHECK(inst == cudaSuccess, std::string("cudaGraphInstantiate: ") + cudaGetErrorString(inst));
  return Status::ok();
}

Status replay(StepGraph& g, cudaStream_t stream) {
  LW_CHECK(cudaGraphLaunch(g.exec, stream) == cudaSuccess, "cudaGraphLaunch failed");
  LW_CHECK(cudaStreamSynchronize(stream) == cudaSuccess, "replay failed on the device");
  return Status::ok();
}

// The attention key bias: its true gradient is exactly zero (softmax ignores a shift shared
// by a row), so Adam turns roundoff into +-lr steps there and two runs whose roundoff differs
// (atomics) drift apart in it without any effect on the loss. Element range in the tensor.
std::pair<size_t, size_t> key_bias_range(const models::Param& p) {
  const std::string& n = p.spec.name;
  const size_t numel = size_t(shape_numel(p.spec.shape));
  if (n.size() > 4 && n.compare(n.size() - 4, 4, ".k.b") == 0) return {0, numel};  // BERT
  if (n.size() > 6 && n.compare(n.size() - 6, 6, ".qkv.b") == 0) return {numel / 3, 2 * numel / 3};  // GPT-2
  return {0, 0};
}

// Per tensor ||a - b|| / ||b|| over the f32 weights, the worst tensor (key bias apart), and
// the worst max |a - b| / max |b| for the record. The norm ratio is the check: with gradients
// summed by atomics in a different order, Adam's first steps can flip the sign of an update
// where a gradient element is ~0 (+-lr on that element), which a max-abs ratio magnifies.
struct WeightDiff {
  double rest = 0, key_bias = 0, max_abs = 0;
  std::string worst;
};
WeightDiff weight_diff(Run& a, Run& b) {
  WeightDiff w;
  for (size_t i = 0; i < a.model->params().size(); ++i) {
    auto& prm = a.model->params()[i];
    auto x = prm.weights().to_float_vector();
    auto y = b.model->params()[i].weights().to_float_vector();
    if (!x.is_ok() || !y.is_ok()) return {INFINITY, INFINITY, INFINITY, "unreadable"};
    const auto [k0, k1] = key_bias_range(prm);
    double d2 = 0, s2 = 0, dmax = 0, smax = 0, dk = 0, sk = 0;
    for (size_t k = 0; k < x->size(); ++k) {
      const double e = std::fabs((*x)[k] - (*y)[k]), m = std::fabs((*y)[k]);
      if (k >= k0 && k < k1) {
        dk = std::max(dk, e);
        sk = std::max(sk, m);
      } else {
        d2 += e * e;
        s2 += m * m;
        dmax = std::max(dmax, e);
        smax = std::max(smax, m);
      }
    }
    const double rel = s2 > 0 ? std::sqrt(d2 / s2) : std::sqrt(d2);
    w.max_abs = std::max(w.max_abs, smax > 0 ? dmax / smax : dmax);
    if (rel > w.rest) {
      w.rest = rel;
      w.worst = prm.spec.name;
    }
    w.key_bias = std::max(w.key_bias, sk > 0 ? dk / sk : dk);
  }
  return w;
}

#define EXPECT_OK(expr)                                              \
  do {                                                               \
    ::lw::Status _st = (expr);                                       \
    QVERIFY2(_st.is_ok(), _st.to_string().c_str());                  \
  } while (0)

}  // namespace

class TestStepGraphCuda : public QObject {
  Q_OBJECT
 private:
  cudaStream_t graph_stream_ = nullptr, eager_stream_ = nullptr;

 private slots:
  // A cuda-labelled test runs on the GPU machine: no device there is a failure, not a skip.
  void initTestCase() {
    Status st = cuda::init_backend();
    QVERIFY2(st.is_ok(), st.to_string().c_str());
    QCOMPARE(cudaStreamCreateWithFlags(&graph_stream_, cudaStreamNonBlocking), cudaSuccess);
    QCOMPARE(cudaStreamCreateWithFlags(&eager_stream_, cudaStreamNonBlocking), cudaSuccess);
  }
  void cleanup() { ops::set_cuda_stream(nullptr); }

  void replay_matches_eager_data() {
    QTest::addColumn<bool>("bert");
    QTest::addColumn<int>("dtype");
    QTest::addColumn<double>("loss_tol");
    QTest::addColumn<double>("weight_tol");
    QTest::newRow("gpt2/bf16") << false << int(DType::kBF16) << 2e-2 << 2e-2;
    QTest::newRow("gpt2/f32") << false << int(DType::kF32) << 1e-4 << 1e-3;
    QTest::newRow("bert-cls/bf16") << true << int(DType::kBF16) << 2e-2 << 2e-2;
    QTest::newRow("bert-cls/f32") << true << int(DType::kF32) << 1e-4 << 1e-3;
  }
  // Steps 1..kSteps: step 1 eager in both runs (warm-up: the allocator's cache, cuBLASLt
  // workspaces, the error record), steps 2.. replayed from one capture vs run eagerly.
  void replay_matches_eager() {
    QFETCH(bool, bert);
    QFETCH(int, dtype);
    QFETCH(double, loss_tol);
    QFETCH(double, weight_tol);
    constexpr int kSteps = 7;
    auto eager = make_run(bert, DType(dtype));
    auto graphed = make_run(bert, DType(dtype));
    QVERIFY2(eager.is_ok(), eager.status().to_string().c_str());
    QVERIFY2(graphed.is_ok(), graphed.status().to_string().c_str());
    std::vector<float> eager_loss, graph_loss;
    ops::set_cuda_stream(eager_stream_);
    for (int t = 1; t <= kSteps; ++t) {
      EXPECT_OK(set_inputs(*eager, make_batch(bert, 100 + t), t));
      EXPECT_OK(step(*eager));
      auto l = ops::read_loss(eager->loss_stats);
      QVERIFY2(l.is_ok(), l.status().to_string().c_str());
      eager_loss.push_back(*l);
    }
    ops::set_cuda_stream(graph_stream_);
    EXPECT_OK(set_inputs(*graphed, make_batch(bert, 101), 1));
    EXPECT_OK(step(*graphed));  // warm-up = step 1
    auto l1 = ops::read_loss(graphed->loss_stats);
    QVERIFY2(l1.is_ok(), l1.status().to_string().c_str());
    graph_loss.push_back(*l1);
    EXPECT_OK(set_inputs(*graphed, make_batch(bert, 102), 2));
    StepGraph g;
    EXPECT_OK(capture(*graphed, graph_stream_, g));
    for (int t = 2; t <= kSteps; ++t) {
      if (t > 2) EXPECT_OK(set_inputs(*graphed, make_batch(bert, 100 + t), t));
      EXPECT_OK(replay(g, graph_stream_));
      auto l = ops::read_loss(graphed->loss_stats);
      QVERIFY2(l.is_ok(), l.status().to_string().c_str());
      graph_loss.push_back(*l);
    }
    double worst_loss = 0;
    for (int i = 0; i < kSteps; ++i) {
      const double rel = std::fabs(graph_loss[i] - eager_loss[i]) / std::fabs(eager_loss[i]);
      worst_loss = std::max(worst_loss, rel);
      QVERIFY2(rel <= loss_tol, qPrintable(QString("step %1: graph loss %2, eager %3")
                                               .arg(i + 1).arg(graph_loss[i]).arg(eager_loss[i])));
    }
    auto initial = make_run(bert, DType(dtype));
    QVERIFY(initial.is_ok());
    const double moved = weight_diff(*graphed, *initial).rest;
    QVERIFY2(moved > 1e-3, qPrintable(QString("the replays hardly changed the weights (%1)").arg(moved)));
    const WeightDiff wd = weight_diff(*graphed, *eager);
    qInfo("losses %.6f -> %.6f; worst loss rel diff %.3g; weights: norm ratio %.3g (worst %s), "
          "max-abs ratio %.3g, key bias %.3g; moved %.3g", eager_loss.front(), eager_loss.back(),
          worst_loss, wd.rest, wd.worst.c_str(), wd.max_abs, wd.key_bias, moved);
    QVERIFY2(wd.rest <= weight_tol,
             qPrintable(QString("weights differ by %1 (relative) in %2").arg(wd.rest).arg(wd.worst.c_str())));
  }

  // An out-of-range token id: the eager forward names it; a replayed graph reports it at the
  // loss read, and the next good replay is clean again.
  void bad_token_id_after_replay() {
    auto run = make_run(false, DType::kBF16);
    QVERIFY2(run.is_ok(), run.status().to_string().c_str());
    ops::set_cuda_stream(graph_stream_);
    HostBatch bad = make_batch(false, 7);
    bad.ids[17] = 50300;
    const std::string want =
        "embedding: token id 50300 at position 17 is out of range for a vocabulary of 512";
    EXPECT_OK(set_inputs(*run, bad, 1));
    models::ForwardOptions fo;
    auto res = run->model->forward(run->batch, fo);  // eager: checked at once
    QVERIFY(!res.is_ok());
    QCOMPARE(res.status().code(), StatusCode::kInvalidArgument);
    QVERIFY2(res.status().message().find(want) != std::string::npos, res.status().to_string().c_str());

    EXPECT_OK(set_inputs(*run, make_batch(false, 8), 1));
    EXPECT_OK(step(*run));
    EXPECT_OK(ops::read_loss(run->loss_stats).status());
    EXPECT_OK(set_inputs(*run, make_batch(false, 9), 2));
    StepGraph g;
    EXPECT_OK(capture(*run, graph_stream_, g));
    EXPECT_OK(set_inputs(*run, bad, 2));
    EXPECT_OK(replay(g, graph_stream_));
    auto l = ops::read_loss(run->loss_stats);
    QVERIFY(!l.is_ok());
    QCOMPARE(l.status().code(), StatusCode::kInvalidArgument);
    QVERIFY2(l.status().message().find(want) != std::string::npos, l.status().to_string().c_str());
    EXPECT_OK(set_inputs(*run, make_batch(false, 10), 3));
    EXPECT_OK(replay(g, graph_stream_));
    auto ok = ops::read_loss(run->loss_stats);
    QVERIFY2(ok.is_ok(), ok.status().to_string().c_str());
    QVERIFY(std::isfinite(*ok));
  }

  // A classification label outside the head's classes, eagerly and after a replay.
  void bad_target_after_replay() {
    auto run = make_run(true, DType::kBF16);
    QVERIFY2(run.is_ok(), run.status().to_string().c_str());
    ops::set_cuda_stream(graph_stream_);
    HostBatch bad = make_batch(true, 11);
    bad.labels[1] = 7;
    const std::string want =
        "cross_entropy: target 7 in row 1 is out of range for a vocabulary of 3 (ignore_index is -100)";
    EXPECT_OK(set_inputs(*run, bad, 1));
    auto res = run->model->forward(run->batch, {});
    QVERIFY(!res.is_ok());
    QVERIFY2(res.status().message().find(want) != std::string::npos, res.status().to_string().c_str());

    EXPECT_OK(set_inputs(*run, make_batch(true, 12), 1));
    EXPECT_OK(step(*run));
    EXPECT_OK(ops::read_loss(run->loss_stats).status());
    EXPECT_OK(set_inputs(*run, make_batch(true, 13), 2));
    StepGraph g;
    EXPECT_OK(capture(*run, graph_stream_, g));
    EXPECT_OK(set_inputs(*run, bad, 2));
    EXPECT_OK(replay(g, graph_stream_));
    auto l = ops::read_loss(run->loss_stats);
    QVERIFY(!l.is_ok());
    QCOMPARE(l.status().code(), StatusCode::kInvalidArgument);
    QVERIFY2(l.status().message().find(want) != std::string::npos, l.status().to_string().c_str());
  }

  // The device clip (multi-tensor sum of squares and scale, 128 tensors a launch) against the
  // host clip (per-tensor sum of squares, the norm read back): 300 tensors of odd sizes.
  void clip_device_matches_host_clip_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<float>("max_norm");
    QTest::newRow("f32/clips") << int(DType::kF32) << 0.5f;
    QTest::newRow("bf16/clips") << int(DType::kBF16) << 0.5f;
    QTest::newRow("f32/no-op") << int(DType::kF32) << 1e6f;
  }
  void clip_device_matches_host_clip() {
    QFETCH(int, dtype);
    QFETCH(float, max_norm);
    ops::set_cuda_stream(eager_stream_);
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.f, 0.01f);
    std::vector<Tensor> a, b;
    for (int i = 0; i < 300; ++i) {
      std::vector<float> v(size_t(1 + (i * 7919) % 5000));
      for (auto& x : v) x = nd(rng);
      auto t1 = Tensor::from_floats(v, {int64_t(v.size())}, DType(dtype), Device::cuda(0));
      auto t2 = Tensor::from_floats(v, {int64_t(v.size())}, DType(dtype), Device::cuda(0));
      QVERIFY(t1.is_ok() && t2.is_ok());
      a.push_back(*t1);
      b.push_back(*t2);
    }
    auto norm = ops::clip_grad_norm(a, max_norm);
    auto dev = ops::clip_grad_norm_device(b, max_norm);
    QVERIFY2(norm.is_ok(), norm.status().to_string().c_str());
    QVERIFY2(dev.is_ok(), dev.status().to_string().c_str());
    auto nf = dev->to_float_vector();
    QVERIFY(nf.is_ok());
    QVERIFY2(std::fabs((*nf)[0] - *norm) <= 1e-5 * *norm,
             qPrintable(QString("device norm %1, host %2").arg((*nf)[0]).arg(*norm)));
    const double coef = max_norm / (*norm + 1e-6);
    QVERIFY(std::fabs((*nf)[1] - (coef < 1 ? coef : 1.0)) <= 1e-5);
    for (size_t i = 0; i < a.size(); i += 37) {
      auto x = a[i].to_float_vector(), y = b[i].to_float_vector();
      QVERIFY(x.is_ok() && y.is_ok());
      for (size_t k = 0; k < x->size(); ++k)
        QVERIFY2(std::fabs((*x)[k] - (*y)[k]) <= 1e-2 * std::fabs((*x)[k]) + 1e-9,
                 qPrintable(QString("tensor %1 element %2: %3 vs %4").arg(i).arg(k).arg((*x)[k]).arg((*y)[k])));
    }
  }

  // NaN logits: the eager loss names the row (kNumerical), as on the CPU; deferred, the
  // same Status comes from read_loss.
  void nan_loss_is_numerical() {
    ops::set_cuda_stream(eager_stream_);
    std::vector<float> logits(4 * 5, 0.5f);
    logits[2 * 5 + 3] = NAN;
    auto x = Tensor::from_floats(logits, {4, 5}, DType::kBF16, Device::cuda(0));
    auto t = Tensor::from_ints(std::vector<int32_t>{0, 1, 2, 3}, {4}, Device::cuda(0));
    QVERIFY(x.is_ok() && t.is_ok());
    auto ce = ops::cross_entropy(*x, *t);
    QVERIFY(!ce.is_ok());
    QCOMPARE(ce.status().code(), StatusCode::kNumerical);
    QVERIFY2(ce.status().message().find("loss of row 2 is nan") != std::string::npos,
             ce.status().to_string().c_str());
    {
      ops::DeferredChecks deferred;
      auto d = ops::cross_entropy(*x, *t);
      QVERIFY2(d.is_ok(), d.status().to_string().c_str());
      QCOMPARE(d->count, int64_t(-1));
      auto l = ops::read_loss(d->stats);
      QVERIFY(!l.is_ok());
      QCOMPARE(l.status().code(), StatusCode::kNumerical);
    }
    EXPECT_OK(ops::check_device_errors(Device::cuda(0)));  // read once, then clear
  }
};

QTEST_GUILESS_MAIN(TestStepGraphCuda)
#include "test_step_graph_cuda.moc"
