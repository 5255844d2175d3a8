// The generation loop on the golden GPT-2 (tests/golden/data/gpt2, 2 layers, V=512, P=32):
// KV-cache decoding equals a full re-forward at every step (greedy and seeded sampling),
// a batch equals its prompts run alone, transformers' greedy ids when generate.json exists
// (make_golden_generate.py), streaming text through a small byte-level BPE tokenizer
// written here (valid UTF-8 chunks that join to the decoded text; stop strings), cancel,
// the context limit and the bad-input messages.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/api/generate.h"
#include "engine/generate/kv_cache.h"
#include "engine/generate/utf8_stream.h"
#include "tests/engine/generate_loop/tiny_tokenizer.h"
#include "tests/golden/golden_util.h"

using namespace lw;

namespace {

std::string gpt2_dir() { return golden::dir("gpt2") + "/model"; }
bool make_folder_with_tokenizer(const QTemporaryDir& tmp) {
  return tiny_tokenizer::make_gpt2_folder(gpt2_dir(), tmp.path().toStdString());
}

GenerateRequest greedy_request(std::vector<std::vector<int32_t>> prompts, int64_t n) {
  GenerateRequest r;
  r.prompts = std::move(prompts);
  r.params.greedy = true;
  r.params.max_new_tokens = n;
  r.params.ignore_eos = true;
  r.params.top_logprobs = 3;
  return r;
}

}  // namespace

class TestGenerateLoop : public QObject {
  Q_OBJECT
 private slots:
  void cached_equals_full_reforward_data() {
    QTest::addColumn<bool>("sampled");
    QTest::newRow("greedy") << false;
    QTest::newRow("sampled") << true;
  }
  void cached_equals_full_reforward() {
    QFETCH(bool, sampled);
    auto m = models::load_model(gpt2_dir());
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    GenerateRequest r = greedy_request({{1, 2, 3}, {100, 7, 42, 300, 5, 9, 11}}, 20);
    if (sampled) {
      r.params.greedy = false;
      r.params.temperature = 0.9f;
      r.params.top_k = 50;
      r.params.top_p = 0.95f;
      r.params.seed = 1234;
    }
    auto cached = generate(**m, nullptr, r);
    QVERIFY2(cached.is_ok(), cached.status().to_string().c_str());
    r.use_kv_cache = false;
    auto full = generate(**m, nullptr, r);
    QVERIFY2(full.is_ok(), full.status().to_string().c_str());
    for (size_t s = 0; s < 2; ++s) {
      const auto& a = cached->sequences[s];
      const auto& b = full->sequences[s];
      QCOMPARE(a.ids.size(), size_t(20));
      QCOMPARE(a.ids, b.ids);
      QCOMPARE(a.finish, FinishReason::kLength);
      for (size_t t = 0; t < a.tokens.size(); ++t) {
        QVERIFY(std::abs(a.tokens[t].raw_logprob - b.tokens[t].raw_logprob) < 1e-4);
        QVERIFY(a.tokens[t].raw_logprob <= 0);
        QCOMPARE(a.tokens[t].top.size(), size_t(3));
        if (!sampled) QCOMPARE(a.tokens[t].top[0].id, a.tokens[t].id);  // greedy picks the best
      }
    }
    QVERIFY(cached->kv_cache_bytes > 0);
    QCOMPARE(full->kv_cache_bytes, size_t(0));
    const auto& tm = cached->timing;
    QCOMPARE(tm.prefill_tokens, int64_t(10));
    QCOMPARE(tm.decode_tokens, int64_t(38));
    QVERIFY(tm.time_to_first_token_s > 0 && tm.prefill_tokens_per_s() > 0 &&
            tm.decode_tokens_per_s() > 0);
  }

  void batch_equals_alone() {
    auto m = models::load_model(gpt2_dir());
    QVERIFY(m.is_ok());
    auto both = generate(**m, nullptr, greedy_request({{5, 6}, {400, 401, 402, 403}}, 8));
    auto alone = generate(**m, nullptr, greedy_request({{400, 401, 402, 403}}, 8));
    QVERIFY(both.is_ok() && alone.is_ok());
    QCOMPARE(both->sequences[1].ids, alone->sequences[0].ids);
  }

  void matches_transformers() {
    std::ifstream in(golden::dir("gpt2") + "/generate.json");
    if (!in) QSKIP("tests/golden/data/gpt2/generate.json not made yet (make_golden_generate.py)");
    nlohmann::json j = nlohmann::json::parse(in);
    auto m = models::load_model(gpt2_dir());
    QVERIFY(m.is_ok());
    for (const auto& c : j["greedy"]) {
      GenerateRequest r = greedy_request({c["prompt"].get<std::vector<int32_t>>()},
                                         c["max_new_tokens"].get<int64_t>());
      r.params.ignore_eos = false;
      r.eos_token_ids = j["eos_token_ids"].get<std::vector<int32_t>>();
      auto out = generate(**m, nullptr, r);
      QVERIFY2(out.is_ok(), out.status().to_string().c_str());
      QCOMPARE(out->sequences[0].ids, c["generated"].get<std::vector<int32_t>>());
    }
  }

  void context_limit_and_kv_layout() {
    auto m = models::load_model(gpt2_dir());
    QVERIFY(m.is_ok());
    auto layout = (*m)->kv_layout();
    QVERIFY(layout.is_ok());
    QCOMPARE(layout->n_layer, int64_t(2));
    QCOMPARE(layout->n_kv_head, int64_t(4));
    QCOMPARE(layout->head_dim, int64_t(16));
    std::vector<int32_t> prompt(30, 7);
    auto out = generate(**m, nullptr, greedy_request({prompt}, 100));
    QVERIFY2(out.is_ok(), out.status().to_string().c_str());
    QCOMPARE(out->sequences[0].ids.size(), size_t(2));  // 30 + 2 = n_positions
    QCOMPARE(out->sequences[0].finish, FinishReason::kLength);
    auto cache = KvCache::create(*layout, 33, Device::cpu(), DType::kF32);
    QVERIFY(!cache.is_ok());
    QVERIFY(cache.status().message().find("context") != std::string::npos);
  }

  void cancel_stops() {
    auto m = models::load_model(gpt2_dir());
    QVERIFY(m.is_ok());
    int events = 0;
    GenerateCallbacks cb;
    std::vector<FinishReason> ends;
    cb.on_token = [&](const StreamEvent& e) {
      if (e.token) ++events;
      if (e.finish != FinishReason::kNone) ends.push_back(e.finish);
    };
    cb.cancel = [&] { return events >= 3; };
    auto out = generate(**m, nullptr, greedy_request({{1, 2}}, 20), cb);
    QVERIFY(out.is_ok());
    QCOMPARE(out->sequences[0].ids.size(), size_t(3));
    QCOMPARE(out->sequences[0].finish, FinishReason::kCancelled);
    QCOMPARE(ends, std::vector<FinishReason>{FinishReason::kCancelled});
  }

  void bad_input_data() {
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("message");
    QTest::newRow("long prompt") << "long" << "has 32 tokens; the model's context holds 32";
    QTest::newRow("empty prompt") << "empty" << "the prompt is empty";
    QTest::newRow("top-p 2") << "top_p" << "--top-p must be in (0, 1], got 2";
    QTest::newRow("id outside vocab") << "id" << "512";
    QTest::newRow("stop without tokenizer") << "stop" << "stop strings need the model's tokenizer";
  }
  void bad_input() {
    QFETCH(QString, what);
    QFETCH(QString, message);
    auto m = models::load_model(gpt2_dir());
    QVERIFY(m.is_ok());
    GenerateRequest r = greedy_request({{1, 2}}, 4);
    if (what == "long") r.prompts = {std::vector<int32_t>(32, 1)};
    if (what == "empty") r.prompts = {{}};
    if (what == "top_p") r.params.top_p = 2;
    if (what == "id") r.prompts = {{1, 512}};
    if (what == "stop") r.params.stop = {"x"};
    auto out = generate(**m, nullptr, r);
    QVERIFY(!out.is_ok());
    QVERIFY2(out.status().message().find(message.toStdString()) != std::string::npos,
             out.status().message().c_str());
  }

  void streaming_text_and_stop_strings() {
    QTemporaryDir tmp;
    QVERIFY(make_folder_with_tokenizer(tmp));
    auto m = api::load_playground_model(tmp.path().toStdString());
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    QVERIFY((*m)->tokenizer);
    QCOMPARE((*m)->eos_token_ids, std::vector<int32_t>{0});
    auto ids = api::encode_prompt(**m, "abc def");
    QVERIFY2(ids.is_ok(), ids.status().to_string().c_str());
    GenerateRequest r;
    r.prompts = {*ids};
    r.params.temperature = 1.0f;
    r.params.seed = 7;
    r.params.max_new_tokens = 24;
    r.params.ignore_eos = true;
    std::string streamed;
    GenerateCallbacks cb;
    bool chunks_valid = true;
    cb.on_token = [&](const StreamEvent& e) {
      chunks_valid = chunks_valid && check_utf8(e.text, "chunk").is_ok();
      streamed += e.text;
    };
    auto out = api::generate(**m, r, cb);
    QVERIFY2(out.is_ok(), out.status().to_string().c_str());
    const auto& seq = out->sequences[0];
    QVERIFY(chunks_valid);
    QCOMPARE(streamed, seq.text);
    auto decoded = (*m)->tokenizer->decode(seq.ids, true);
    QVERIFY(decoded.is_ok());
    QCOMPARE(seq.text, *decoded);
    QVERIFY(seq.text.size() >= 8);
    // Stop at a piece of that text: the output ends just before its first occurrence.
    size_t at = seq.text.size() / 2;
    auto ascii = [&](size_t i) { return uint8_t(seq.text[i]) >= 0x20 && uint8_t(seq.text[i]) < 0x7f; };
    while (at + 1 < seq.text.size() && !(ascii(at) && ascii(at + 1))) ++at;
    QVERIFY2(at + 1 < seq.text.size(), seq.text.c_str());
    std::string stop = seq.text.substr(at, 2);
    r.params.stop = {stop};
    auto stopped = api::generate(**m, r);
    QVERIFY2(stopped.is_ok(), stopped.status().to_string().c_str());
    QCOMPARE(stopped->sequences[0].finish, FinishReason::kStopString);
    QCOMPARE(stopped->sequences[0].text, seq.text.substr(0, seq.text.find(stop)));
  }

  void facade_errors() {
    auto missing = api::load_playground_model("/nonexistent/model");
    QVERIFY(!missing.is_ok());
    QVERIFY(missing.status().message().find("/nonexistent/model") != std::string::npos);
    auto m = api::load_playground_model(gpt2_dir());
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    auto ids = api::encode_prompt(**m, "hello");
    QVERIFY(!ids.is_ok());
    QVERIFY2(ids.status().message().find("has no tokenizer") != std::string::npos,
             ids.status().message().c_str());
    auto bad = api::encode_prompt(**m, std::string("a\xff", 2));
    QVERIFY(!bad.is_ok());
    QVERIFY2(bad.status().message().find("invalid UTF-8") != std::string::npos,
             bad.status().message().c_str());
  }
};

QTEST_GUILESS_MAIN(TestGenerateLoop)
#include "test_generate_loop.moc"
