// Golden comparison: ids (with and without special tokens), character offsets
// and decode strings recorded by tests/golden/make_tokenizer_golden.py from
// Hugging Face tokenizers and sentencepiece on the GPU machine.
#include <QtTest/QtTest>

#include "tests/engine/tokenize/tokenize_test_util.h"

using namespace tokenize_test;
using json = nlohmann::json;

namespace {
json read_golden(const std::string& name) {
  std::ifstream in(golden_dir() + "/" + name);
  if (!in) return json();
  return json::parse(in);
}
std::vector<lw::TokenOffset> offsets_of(const json& j) {
  std::vector<lw::TokenOffset> out;
  for (const auto& o : j) out.emplace_back(o[0].get<size_t>(), o[1].get<size_t>());
  return out;
}
}  // namespace

class TestTokenizerGolden : public QObject {
  Q_OBJECT

  void compare_hf(const std::string& golden_name, const std::string& tok_path) {
    json g = read_golden(golden_name);
    if (g.is_null()) QFAIL(("golden file missing: " + golden_name + " (run tests/golden/make_tokenizer_golden.py)").c_str());
    auto tok = load(shared_tok(tok_path));
    int checked = 0;
    for (const json& s : g["samples"]) {
      const std::string text = s["text"].get<std::string>();
      const QByteArray where = QByteArray("sample ") + QByteArray::fromStdString(s["text"].dump());
      auto e = tok->encode(text, true);
      QVERIFY2(e.is_ok(), where.constData());
      QVERIFY2(e->ids == s["ids"].get<std::vector<int32_t>>(),
               (where + "\n ours:   " + ids_str(e->ids).toUtf8() + "\n golden: " +
                QByteArray::fromStdString(s["ids"].dump())).constData());
      QVERIFY2(e->char_offsets(text) == offsets_of(s["offsets"]), (where + " offsets").constData());
      auto plain = tok->encode(text, false);
      QVERIFY2(plain->ids == s["ids_no_special"].get<std::vector<int32_t>>(), (where + " no special").constData());
      QVERIFY2(plain->char_offsets(text) == offsets_of(s["offsets_no_special"]),
               (where + " offsets no special").constData());
      auto d = tok->decode(e->ids, true);
      QVERIFY(d.is_ok());
      QCOMPARE(QString::fromStdString(*d), QString::fromStdString(s["decode"].get<std::string>()));
      auto dk = tok->decode(e->ids, false);
      QCOMPARE(QString::fromStdString(*dk), QString::fromStdString(s["decode_keep_special"].get<std::string>()));
      ++checked;
    }
    for (const json& p : g.value("pairs", json::array())) {
      const std::string a = p["text"].get<std::string>(), b = p["pair"].get<std::string>();
      auto e = tok->encode_pair(a, b, true);
      QVERIFY(e.is_ok());
      QVERIFY2(e->ids == p["ids"].get<std::vector<int32_t>>(), ("pair " + p["text"].dump()).c_str());
      QVERIFY(e->type_ids == p["type_ids"].get<std::vector<int32_t>>());
      QVERIFY2(e->char_offsets(a, b) == offsets_of(p["offsets"]), ("pair offsets " + p["text"].dump()).c_str());
    }
    QVERIFY(checked >= 40);
  }

 private slots:
  void gpt2() { compare_hf("gpt2.json", "gpt2"); }
  void bert_base_uncased() { compare_hf("bert-base-uncased.json", "bert-base-uncased"); }
  void llama2_tokenizer_json() { compare_hf("llama2-json.json", "llama2/tokenizer.json"); }

  void llama2_sentencepiece() {
    json g = read_golden("llama2-sp.json");
    if (g.is_null()) QFAIL("golden file missing: llama2-sp.json (run tests/golden/make_tokenizer_golden.py)");
    auto tok = load(shared_tok("llama2/tokenizer.model"));
    QCOMPARE(tok->vocab_size(), g["vocab_size"].get<int32_t>());
    QCOMPARE(tok->special_tokens().bos, g["bos_id"].get<int32_t>());
    for (const json& s : g["samples"]) {
      const std::string text = s["text"].get<std::string>();
      auto e = tok->encode(text, true);
      QVERIFY(e.is_ok());
      QVERIFY2(e->ids == s["ids"].get<std::vector<int32_t>>(), s["text"].dump().c_str());
      auto plain = tok->encode(text, false);
      QVERIFY(plain->ids == s["ids_no_special"].get<std::vector<int32_t>>());
      QVERIFY2(plain->offsets == offsets_of(s["byte_offsets_no_special"]), s["text"].dump().c_str());
      QCOMPARE(QString::fromStdString(*tok->decode(e->ids, true)), QString::fromStdString(s["decode"].get<std::string>()));
    }
  }
};

QTEST_GUILESS_MAIN(TestTokenizerGolden)
#include "test_tokenizer_golden.moc"
