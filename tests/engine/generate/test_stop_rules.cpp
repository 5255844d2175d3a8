// StopRules: stop strings that span tokens (held back, then trimmed), partial matches
// that turn out not to be stops, stop token ids and EOS (text not emitted), ignore_eos,
// max_new_tokens, multi-byte text split across tokens, and the same output whatever
// the tokenisation, checked against a whole-text reference on random chunkings.
#include <QtTest>

#include <string>
#include <vector>

#include "engine/core/rng.h"
#include "engine/generate/stop_rules.h"

using lw::FinishReason;
using lw::SamplingParams;
using lw::StopRules;

namespace {
struct Run {
  std::string text;
  FinishReason finish = FinishReason::kNone;
  int64_t tokens = 0;
  std::vector<std::string> pieces;  // text per step, as the stream callback would see it
};

StopRules make(const SamplingParams& p, std::vector<int32_t> eos = {2}) {
  auto r = StopRules::create(p, std::move(eos));
  if (!r.is_ok()) qFatal("%s", r.status().to_string().c_str());
  return std::move(r).value();
}

// Pushes (id, bytes) tokens until done; ends with kCancelled if the tokens run out.
Run run(StopRules rules, const std::vector<std::pair<int32_t, std::string>>& tokens) {
  Run out;
  for (const auto& [id, bytes] : tokens) {
    auto step = rules.push(id, bytes);
    out.pieces.push_back(step.text);
    out.text += step.text;
    if (step.done()) {
      out.finish = step.finish;
      out.tokens = rules.n_tokens();
      return out;
    }
  }
  auto step = rules.end(FinishReason::kCancelled);
  out.pieces.push_back(step.text);
  out.text += step.text;
  out.finish = step.finish;
  out.tokens = rules.n_tokens();
  return out;
}

std::vector<std::pair<int32_t, std::string>> text_tokens(const std::vector<std::string>& parts) {
  std::vector<std::pair<int32_t, std::string>> t;
  for (const auto& p : parts) t.emplace_back(100, p);
  return t;
}

// The whole-text answer: cut before the stop string that ends first (then starts first).
std::string reference_cut(const std::string& text, const std::vector<std::string>& stops,
                          bool* stopped) {
  size_t best_end = std::string::npos, best_start = std::string::npos;
  for (const auto& s : stops) {
    size_t pos = text.find(s);
    if (pos == std::string::npos) continue;
    size_t end = pos + s.size();
    if (end < best_end || (end == best_end && pos < best_start)) {
      best_end = end;
      best_start = pos;
    }
  }
  *stopped = best_start != std::string::npos;
  return *stopped ? text.substr(0, best_start) : text;
}
}  // namespace

class TestStopRules : public QObject {
  Q_OBJECT
 private slots:
  void stopStringAcrossTokens() {
    SamplingParams p;
    p.stop = {"\n\nUser:"};
    StopRules rules = make(p);
    auto s1 = rules.push(100, "Hello");
    QCOMPARE(s1.text, std::string("Hello"));
    auto s2 = rules.push(100, "!\n");  // "\n" could start the stop string: held back
    QCOMPARE(s2.text, std::string("!"));
    auto s3 = rules.push(100, "\nUs");
    QCOMPARE(s3.text, std::string());
    QVERIFY(!s3.done());
    auto s4 = rules.push(100, "er: more");
    QCOMPARE(s4.text, std::string());
    QCOMPARE(s4.finish, FinishReason::kStopString);
    QCOMPARE(rules.matched_stop(), std::string("\n\nUser:"));
    QCOMPARE(rules.n_tokens(), int64_t(4));
    // Pushing after the end gives nothing.
    auto s5 = rules.push(100, "x");
    QVERIFY(s5.done());
    QCOMPARE(s5.text, std::string());
    QCOMPARE(rules.n_tokens(), int64_t(4));
  }

  void heldTextReleasedWhenNotAStop() {
    SamplingParams p;
    p.stop = {"###"};
    auto r = run(make(p), text_tokens({"a#", "#", "b", "##", "c"}));
    QCOMPARE(r.text, std::string("a##b##c"));
    QCOMPARE(r.finish, FinishReason::kCancelled);
    QCOMPARE(r.pieces[0], std::string("a"));
    QCOMPARE(r.pieces[1], std::string());
    QCOMPARE(r.pieces[2], std::string("##b"));
    // Text after the stop string inside the same token is dropped.
    r = run(make(p), text_tokens({"x", "y### z"}));
    QCOMPARE(r.text, std::string("xy"));
    QCOMPARE(r.finish, FinishReason::kStopString);
  }

  void firstEndingStopWins() {
    SamplingParams p;
    p.stop = {"abc", "b"};
    auto r = run(make(p), text_tokens({"xabc"}));
    QCOMPARE(r.text, std::string("xa"));  // "b" ends before "abc" does
    r = run(make(p), text_tokens({"x", "a", "b", "c"}));
    QCOMPARE(r.text, std::string("xa"));
    p.stop = {"bc", "abc"};  // same end: the longer (earlier start) wins
    r = run(make(p), text_tokens({"xab", "c"}));
    QCOMPARE(r.text, std::string("x"));
  }

  void stopTokenAndEos() {
    SamplingParams p;
    p.stop_token_ids = {7};
    auto r = run(make(p), {{100, "one"}, {7, "<|im_end|>"}, {100, "two"}});
    QCOMPARE(r.text, std::string("one"));
    QCOMPARE(r.finish, FinishReason::kStopToken);
    QCOMPARE(r.tokens, int64_t(2));
    r = run(make(p), {{100, "one"}, {2, "</s>"}, {100, "two"}});
    QCOMPARE(r.text, std::string("one"));
    QCOMPARE(r.finish, FinishReason::kEos);
    // Several EOS ids (chat models).
    r = run(make(p, {2, 9}), {{100, "a"}, {9, "<eot>"}});
    QCOMPARE(r.finish, FinishReason::kEos);
    // ignore_eos: EOS is an ordinary token, its text is emitted.
    p.ignore_eos = true;
    r = run(make(p), {{100, "one"}, {2, "</s>"}, {100, "two"}});
    QCOMPARE(r.text, std::string("one</s>two"));
    QCOMPARE(r.finish, FinishReason::kCancelled);
    // A stop token ends generation even with ignore_eos, and releases held text.
    p.stop = {"!!"};
    r = run(make(p), {{100, "hi!"}, {7, ""}});
    QCOMPARE(r.text, std::string("hi!"));
    QCOMPARE(r.finish, FinishReason::kStopToken);
  }

  void maxNewTokens() {
    SamplingParams p;
    p.max_new_tokens = 3;
    p.stop = {"END"};
    auto r = run(make(p), text_tokens({"a", "b", "cE", "ND"}));
    QCOMPARE(r.finish, FinishReason::kLength);
    QCOMPARE(r.tokens, int64_t(3));
    QCOMPARE(r.text, std::string("abcE"));  // the held "E" is released at the end
    QCOMPARE(r.pieces.back(), std::string("cE"));
    // A stop string completed by the last allowed token is a stop, not a length end.
    r = run(make(p), text_tokens({"a", "E", "ND"}));
    QCOMPARE(r.finish, FinishReason::kStopString);
    QCOMPARE(r.text, std::string("a"));
    QCOMPARE(lw::finish_reason_name(FinishReason::kLength), "length");
    QCOMPARE(lw::finish_reason_name(FinishReason::kStopString), "stop_string");
  }

  void multiByteText() {
    SamplingParams p;
    p.stop = {"\xE3\x80\x82"};  // "。" (ideographic full stop)
    // "日本。" with every character split across tokens.
    auto r = run(make(p), text_tokens({"\xE6\x97", "\xA5\xE6", "\x9C\xAC\xE3", "\x80", "\x82x"}));
    QCOMPARE(r.text, std::string("\xE6\x97\xA5\xE6\x9C\xAC"));
    QCOMPARE(r.finish, FinishReason::kStopString);
    for (const auto& piece : r.pieces) QVERIFY(lw::check_utf8(piece, "piece").is_ok());
    // An emoji cut off by the length limit becomes U+FFFD.
    p.stop.clear();
    p.max_new_tokens = 2;
    r = run(make(p), text_tokens({"ok", "\xF0\x9F\x98"}));
    QCOMPARE(r.text, std::string("ok\xEF\xBF\xBD"));
    QCOMPARE(r.finish, FinishReason::kLength);
  }

  void endByCaller() {
    SamplingParams p;
    p.stop = {"STOP"};
    StopRules rules = make(p);
    QCOMPARE(rules.push(100, "go ST").text, std::string("go "));
    auto e = rules.end(FinishReason::kCancelled);
    QCOMPARE(e.text, std::string("ST"));
    QCOMPARE(e.finish, FinishReason::kCancelled);
    QCOMPARE(rules.end(FinishReason::kLength).finish, FinishReason::kCancelled);
  }

  void badInput() {
    SamplingParams p;
    p.stop = {""};
    auto r = StopRules::create(p, {2});
    QVERIFY(!r.is_ok());
    QCOMPARE(r.status().message(), std::string("--stop string 1 is empty"));
    r = StopRules::create(SamplingParams{}, {-1});
    QCOMPARE(r.status().message(),
             std::string("stop rules: the model's eos token id -1 is negative"));
  }

  void independentOfTokenisation() {
    // Random texts over a small alphabet (so stop strings occur and partly occur),
    // random stop sets, random chunkings: streamed output equals the whole-text cut.
    lw::PhiloxStream rng(99);
    const std::string alphabet = "ab\n";
    auto word = [&](size_t n) {
      std::string s;
      for (size_t i = 0; i < n; ++i) s += alphabet[rng.below(alphabet.size())];
      return s;
    };
    int stopped_runs = 0;
    for (int trial = 0; trial < 2000; ++trial) {
      std::string text = word(1 + rng.below(30));
      SamplingParams p;
      p.max_new_tokens = 1000;
      for (uint64_t k = 1 + rng.below(3); k > 0; --k) p.stop.push_back(word(1 + rng.below(4)));
      std::vector<std::string> chunks;
      for (size_t i = 0; i < text.size();) {
        size_t n = std::min<size_t>(1 + rng.below(4), text.size() - i);
        chunks.push_back(text.substr(i, n));
        i += n;
      }
      bool stopped = false;
      std::string want = reference_cut(text, p.stop, &stopped);
      auto r = run(make(p), text_tokens(chunks));
      if (r.text != want || (r.finish == FinishReason::kStopString) != stopped) {
        QFAIL(qPrintable(QString("text '%1' stops %2: got '%3', want '%4'")
                             .arg(QString::fromStdString(text))
                             .arg(QString::fromStdString(p.stop[0]))
                             .arg(QString::fromStdString(r.text))
                             .arg(QString::fromStdString(want))));
      }
      stopped_runs += stopped;
    }
    QVERIFY(stopped_runs > 200 && stopped_runs < 1900);  // both outcomes exercised
  }
};

QTEST_GUILESS_MAIN(TestStopRules)
#include "test_stop_rules.moc"
