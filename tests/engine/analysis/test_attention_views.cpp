// Attention rollout, per-head entropy / distance / special-token share and the
// capture memory estimate, on small cases computed by hand (L=2 layers, H=2
// heads, T=3 tokens): one causal GPT-like sequence, one BERT-like sequence with
// a padded key. Plus properties on random inputs and the bad-input messages.
#include <QtTest/QtTest>

#include <cmath>
#include <random>
#include <vector>

#include "engine/analysis/attention_memory.h"
#include "engine/analysis/attention_views.h"

namespace {

// [L=2, H=2, T=3], causal. Token 0 is special (BOS).
const std::vector<float> kCausal = {
    // layer 0 head 0
    1, 0, 0, 0.5f, 0.5f, 0, 0.25f, 0.25f, 0.5f,
    // layer 0 head 1
    1, 0, 0, 1, 0, 0, 0, 0, 1,
    // layer 1 head 0
    1, 0, 0, 0.5f, 0.5f, 0, 0.5f, 0, 0.5f,
    // layer 1 head 1
    1, 0, 0, 0, 1, 0, 0, 0.5f, 0.5f};
const std::vector<uint8_t> kCausalSpecial = {1, 0, 0};

// [L=2, H=2, T=3], tokens [CLS] x [PAD]; the padding query row holds junk that
// must be ignored (it even puts mass on the padding key).
const std::vector<float> kPadded = {
    0.5f, 0.5f, 0, 0.25f, 0.75f, 0, 0.2f, 0.3f, 0.5f,
    1, 0, 0, 0, 1, 0, 0.2f, 0.3f, 0.5f,
    0.5f, 0.5f, 0, 0.5f, 0.5f, 0, 0.2f, 0.3f, 0.5f,
    0, 1, 0, 1, 0, 0, 0.2f, 0.3f, 0.5f};
const std::vector<uint8_t> kPaddedValid = {1, 1, 0};
const std::vector<uint8_t> kPaddedSpecial = {1, 0, 0};

lw::AttentionProbs make(const std::vector<float>& p, int64_t L, int64_t H, int64_t T,
                        const std::vector<uint8_t>& valid = {}, const std::vector<uint8_t>& special = {}) {
  return lw::AttentionProbs{p, L, H, T, valid, special};
}

// Random softmax rows, optionally causal.
std::vector<float> random_probs(int64_t L, int64_t H, int64_t T, bool causal, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  std::vector<float> p(static_cast<size_t>(L * H * T * T), 0.0f);
  for (int64_t r = 0; r < L * H * T; ++r) {
    const int64_t i = r % T;
    const int64_t n = causal ? i + 1 : T;
    float* row = p.data() + r * T;
    double sum = 0.0;
    for (int64_t j = 0; j < n; ++j) sum += (row[j] = std::exp(u(rng)));
    for (int64_t j = 0; j < n; ++j) row[j] = static_cast<float>(row[j] / sum);
  }
  return p;
}

void expect_rows(const float* got, const std::vector<double>& want) {
  for (size_t k = 0; k < want.size(); ++k) {
    if (std::fabs(got[k] - want[k]) > 1e-6)
      QFAIL(qPrintable(QString("element %1: got %2, want %3").arg(k).arg(got[k]).arg(want[k])));
  }
}

void expect_metric(const lw::Result<lw::HeadMetric>& r, const std::vector<double>& want) {
  QVERIFY2(r.is_ok(), r.status().to_string().c_str());
  QCOMPARE(r->n_layer, 2);
  QCOMPARE(r->n_head, 2);
  QCOMPARE(r->values.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    if (std::fabs(r->values[k] - want[k]) > 1e-6)
      QFAIL(qPrintable(QString("head %1: got %2, want %3").arg(k).arg(r->values[k]).arg(want[k])));
  }
}

void expect_error(const lw::Status& st, const char* fragment) {
  QVERIFY2(!st.is_ok(), fragment);
  QCOMPARE(st.code(), lw::StatusCode::kInvalidArgument);
  QVERIFY2(st.message().find(fragment) != std::string::npos, st.message().c_str());
}

}  // namespace

class TestAttentionViews : public QObject {
  Q_OBJECT
 private slots:
  void rolloutCausalByHand() {
    auto r = lw::attention_rollout(make(kCausal, 2, 2, 3));
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QCOMPARE(r->values.size(), size_t(18));
    // After layer 0: (mean_h A + I) / 2.
    expect_rows(r->values.data(), {1, 0, 0, 0.375, 0.625, 0, 0.0625, 0.0625, 0.875});
    // A2' = [[1,0,0],[.125,.875,0],[.125,.125,.75]]; R = A2' · A1'.
    expect_rows(r->final_rollout().data(), {1, 0, 0, 0.453125, 0.546875, 0, 0.21875, 0.125, 0.65625});
  }
  void rolloutPaddedByHand() {
    auto r = lw::attention_rollout(make(kPadded, 2, 2, 3, kPaddedValid));
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    expect_rows(r->values.data(), {0.875, 0.125, 0, 0.0625, 0.9375, 0, 0, 0, 1});
    expect_rows(r->final_rollout().data(),
                {0.5703125, 0.4296875, 0, 0.3671875, 0.6328125, 0, 0, 0, 1});
  }
  void entropyByHand() {
    const double ln2 = std::log(2.0);
    expect_metric(lw::head_entropy(make(kCausal, 2, 2, 3)), {2.5 * ln2 / 3, 0, 2 * ln2 / 3, ln2 / 3});
    const double h25 = -(0.25 * std::log(0.25) + 0.75 * std::log(0.75));
    expect_metric(lw::head_entropy(make(kPadded, 2, 2, 3, kPaddedValid)), {(ln2 + h25) / 2, 0, ln2, 0});
  }
  void distanceByHand() {
    expect_metric(lw::head_attention_distance(make(kCausal, 2, 2, 3)), {1.25 / 3, 1.0 / 3, 0.5, 0.5 / 3});
    expect_metric(lw::head_attention_distance(make(kPadded, 2, 2, 3, kPaddedValid)), {0.375, 0, 0.5, 1});
  }
  void specialShareByHand() {
    expect_metric(lw::head_special_share(make(kCausal, 2, 2, 3, {}, kCausalSpecial)),
                  {1.75 / 3, 2.0 / 3, 2.0 / 3, 1.0 / 3});
    expect_metric(lw::head_special_share(make(kPadded, 2, 2, 3, kPaddedValid, kPaddedSpecial)),
                  {0.375, 0.5, 0.5, 0.5});
  }
  void rolloutOfIdentityIsIdentity() {
    const int64_t L = 3, H = 4, T = 5;
    std::vector<float> p(static_cast<size_t>(L * H * T * T), 0.0f);
    for (int64_t r = 0; r < L * H * T; ++r) p[static_cast<size_t>(r * T + r % T)] = 1.0f;
    auto r = lw::attention_rollout(make(p, L, H, T));
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    for (int64_t l = 0; l < L; ++l)
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j < T; ++j) QCOMPARE(r->values[static_cast<size_t>((l * T + i) * T + j)], i == j ? 1.0f : 0.0f);
  }
  void rolloutRowsSumToOneAndCausalStaysLower() {
    for (bool causal : {false, true}) {
      const int64_t L = 4, H = 3, T = 7;
      const auto p = random_probs(L, H, T, causal, causal ? 7u : 11u);
      auto r = lw::attention_rollout(make(p, L, H, T));
      QVERIFY2(r.is_ok(), r.status().to_string().c_str());
      for (int64_t l = 0; l < L; ++l) {
        for (int64_t i = 0; i < T; ++i) {
          double sum = 0.0;
          for (int64_t j = 0; j < T; ++j) {
            const float v = r->values[static_cast<size_t>((l * T + i) * T + j)];
            QVERIFY(v >= 0.0f);
            if (causal && j > i) QCOMPARE(v, 0.0f);
            sum += v;
          }
          QVERIFY2(std::fabs(sum - 1.0) < 1e-5, qPrintable(QString("layer %1 row %2 sums to %3").arg(l).arg(i).arg(sum)));
        }
      }
    }
  }
  void badInputs() {
    expect_error(lw::attention_rollout(make(kCausal, 2, 2, 4)).status(), "expected L*H*T*T = 64");
    expect_error(lw::head_entropy(make(kCausal, 0, 2, 3)).status(), "must be positive");
    std::vector<float> nan = kCausal;
    nan[13] = std::nanf("");
    expect_error(lw::head_entropy(make(nan, 2, 2, 3)).status(), "layer 0 head 1 query 1 key 1: value is not finite");
    std::vector<float> short_row = kCausal;
    short_row[3] = 0.4f;  // layer 0 head 0 query 1 sums to 0.9
    expect_error(lw::attention_rollout(make(short_row, 2, 2, 3)).status(),
                 "layer 0 head 0 query 1: row sums to 0.9");
    std::vector<float> negative = kCausal;
    negative[0] = -0.5f;
    expect_error(lw::attention_rollout(make(negative, 2, 2, 3)).status(), "is not a probability");
    // Query 2 puts 0.25 on key 1: wrong if key 1 is padding (query 1, padding, is not checked).
    expect_error(lw::attention_rollout(make(kCausal, 2, 2, 3, {1, 0, 1})).status(),
                 "layer 0 head 0 query 2: puts 0.25");
    expect_error(lw::attention_rollout(make(kCausal, 2, 2, 3, {1, 1})).status(),
                 "attention key mask: 2 entries, expected T = 3");
    expect_error(lw::attention_rollout(make(kCausal, 2, 2, 3, {0, 0, 0})).status(), "every token is padding");
    expect_error(lw::head_special_share(make(kCausal, 2, 2, 3, {}, {1})).status(),
                 "special-token mask: 1 entries, expected T = 3");
    expect_error(lw::head_special_share(make(kCausal, 2, 2, 3)).status(), "no special-token mask");
  }
  void captureMemory() {
    const lw::AttentionCaptureShape gpt2{1, 12, 12, lw::DType::kF32};
    auto bytes = lw::attention_capture_bytes(gpt2, 4096);
    QVERIFY(bytes.is_ok());
    QCOMPARE(*bytes, uint64_t(12) * 12 * 4 * 4096 * 4096);
    QCOMPARE(lw::format_bytes(*bytes), std::string("9.0 GiB"));
    QCOMPARE(lw::format_bytes(300), std::string("300 B"));
    QCOMPARE(lw::format_bytes(512ull << 20), std::string("512.0 MiB"));
    // 576 * 1930^2 = 2145542400 <= 2 GiB < 576 * 1931^2.
    auto t = lw::attention_max_tokens(gpt2, 2ull << 30);
    QVERIFY(t.is_ok());
    QCOMPARE(*t, int64_t(1930));
    const lw::AttentionCaptureShape bf16{2, 12, 12, lw::DType::kBF16};
    QCOMPARE(*lw::attention_max_tokens(bf16, 2ull << 30), int64_t(1930));
    const lw::AttentionCaptureShape one{1, 6, 8, lw::DType::kBF16};
    QCOMPARE(*lw::attention_max_tokens(one, 2ull << 30), int64_t(4729));  // 96 * 4729^2 <= 2^31
    // Exactly at the boundary and one byte below it.
    const uint64_t at100 = *lw::attention_capture_bytes(gpt2, 100);
    QCOMPARE(*lw::attention_max_tokens(gpt2, at100), int64_t(100));
    QCOMPARE(*lw::attention_max_tokens(gpt2, at100 - 1), int64_t(99));
    QCOMPARE(*lw::attention_max_tokens(gpt2, 575), int64_t(0));
    QCOMPARE(*lw::attention_max_tokens(gpt2, UINT64_MAX), int64_t(178956970));
    // Round trip over many budgets: the answer fits and one more token does not.
    for (uint64_t budget = 1000; budget < (64ull << 30); budget = budget * 3 + 7) {
      const int64_t n = *lw::attention_max_tokens(gpt2, budget);
      QVERIFY(*lw::attention_capture_bytes(gpt2, n) <= budget);
      QVERIFY(*lw::attention_capture_bytes(gpt2, n + 1) > budget);
    }
  }
  void captureMemoryBadInputs() {
    const lw::AttentionCaptureShape gpt2{1, 12, 12, lw::DType::kF32};
    expect_error(lw::attention_capture_bytes(gpt2, 0).status(), "token count must be positive");
    expect_error(lw::attention_capture_bytes({0, 12, 12, lw::DType::kF32}, 8).status(), "B=0");
    expect_error(lw::attention_capture_bytes({1, 12, 12, lw::DType::kI32}, 8).status(), "I32 is not a float type");
    expect_error(lw::attention_capture_bytes({1024, 1024, 1024, lw::DType::kF32}, int64_t(1) << 40).status(),
                 "overflow");
  }
};

QTEST_GUILESS_MAIN(TestAttentionViews)
#include "test_attention_views.moc"
