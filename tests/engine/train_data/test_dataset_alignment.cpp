// Word <-> sub-word alignment with offsets shaped like real tokenizers' (WordPiece with
// [CLS]/[SEP] at (0,0), byte-level BPE whose tokens carry the leading space), truncation,
// a token that spans two words, multi-byte text, and the truncation report.
#include <QtTest>

#include "engine/train/alignment.h"

using namespace lw::train;
using Ints = std::vector<int>;

class TestDatasetAlignment : public QObject {
  Q_OBJECT
 private slots:
  void joinWords() {
    auto j = join_words({"Cita", "Romántica", "!"});
    QCOMPARE(j.text, std::string("Cita Romántica !"));
    QCOMPARE(j.spans, (std::vector<Span>{{0, 4}, {5, 15}, {16, 17}}));  // byte spans: á is 2 bytes
  }

  void wordPiece() {
    auto j = join_words({"Hello", "unaffable", "world"});
    std::vector<Span> tokens = {{0, 0}, {0, 5}, {6, 8}, {8, 11}, {11, 15}, {16, 21}, {0, 0}};
    auto a = align_words(j.spans, tokens);
    QVERIFY2(a.is_ok(), a.status().to_string().c_str());
    QCOMPARE(a->token_word, (Ints{-1, 0, 1, 1, 1, 2, -1}));
    QCOMPARE(a->word_first_token, (Ints{1, 2, 5}));
    QCOMPARE(a->words_without_token, 0);
    QCOMPARE(*token_labels(*a, {3, 4, 0}), (Ints{-100, 3, 4, -100, -100, 0, -100}));
    QCOMPARE(*token_labels(*a, {3, 4, 0}, -1), (Ints{-1, 3, 4, -1, -1, 0, -1}));
    // Back to words: each word takes its first sub-token's prediction.
    QCOMPARE(*word_predictions(*a, {9, 5, 6, 7, 7, 8, 9}, 0), (Ints{5, 6, 8}));
    QVERIFY(!token_labels(*a, {1, 2}).is_ok());
  }

  void byteLevelLeadingSpace() {
    auto j = join_words({"Hello", "unaffable", "world"});
    // GPT-2 style: " un" and " world" include the space before the word.
    std::vector<Span> tokens = {{0, 5}, {5, 8}, {8, 11}, {11, 15}, {15, 21}};
    auto a = align_words(j.spans, tokens);
    QVERIFY(a.is_ok());
    QCOMPARE(a->token_word, (Ints{0, 1, 1, 1, 2}));
    QCOMPARE(*token_labels(*a, {1, 2, 3}), (Ints{1, 2, -100, -100, 3}));
    // A lone space token belongs to no word.
    a = align_words(j.spans, {{0, 5}, {5, 6}, {6, 15}, {16, 21}});
    QCOMPARE(a->token_word, (Ints{0, -1, 1, 2}));
  }

  void truncated() {
    auto j = join_words({"Hello", "unaffable", "world"});
    std::vector<Span> tokens = {{0, 0}, {0, 5}, {6, 8}, {0, 0}};  // cut after "un"
    auto a = align_words(j.spans, tokens);
    QVERIFY(a.is_ok());
    QCOMPARE(a->word_first_token, (Ints{1, 2, -1}));
    QCOMPARE(a->words_without_token, 1);
    QCOMPARE(*token_labels(*a, {1, 2, 3}), (Ints{-100, 1, 2, -100}));
    QCOMPARE(*word_predictions(*a, {0, 1, 2, 0}, /*missing=*/7), (Ints{1, 2, 7}));
    // Fewer predictions than tokens (the model saw a shorter input) still map; more is an error.
    QCOMPARE(*word_predictions(*a, {0, 1}, 7), (Ints{1, 7, 7}));
    QVERIFY(!word_predictions(*a, {0, 1, 2, 3, 4}, 7).is_ok());
  }

  void tokenSpanningTwoWords() {
    // Words "don" and "'t" touch; a tokenizer may give one token for both.
    std::vector<Span> words = {{0, 3}, {3, 5}, {6, 10}};
    auto a = align_words(words, {{0, 5}, {6, 10}});
    QVERIFY(a.is_ok());
    QCOMPARE(a->token_word, (Ints{0, 2}));
    QCOMPARE(a->word_first_token, (Ints{0, -1, 1}));
    QCOMPARE(a->words_without_token, 1);
  }

  void badInput() {
    auto overlap = align_words({{0, 4}, {3, 6}}, {});
    QVERIFY(!overlap.is_ok());
    QVERIFY(overlap.status().message().find("word 1 starts before word 0 ends") !=
            std::string::npos);
    QVERIFY(!align_words({{2, 2}}, {}).is_ok());
    auto backwards = align_words({{0, 4}, {5, 9}}, {{5, 9}, {0, 4}});
    QVERIFY(!backwards.is_ok());
    QVERIFY(backwards.status().message().find(
                "token 1 starts at byte 0, before the previous token") != std::string::npos);
  }

  void truncationReport() {
    auto r = count_truncation({5, 130, 128, 200}, 128);
    QCOMPARE(r.n_examples, int64_t(4));
    QCOMPARE(r.n_truncated, int64_t(2));
    QCOMPARE(r.tokens_dropped, int64_t(74));
    QCOMPARE(r.longest, int64_t(200));
    QCOMPARE(r.fraction_truncated(), 0.5);
    QCOMPARE(r.first_truncated, (std::vector<int64_t>{1, 3}));
    QVERIFY2(r.describe().find("2 of 4 examples (50.0%) are longer than 128 tokens") == 0,
             r.describe().c_str());
    QCOMPARE(count_truncation({}, 16).n_truncated, int64_t(0));
  }
};

QTEST_GUILESS_MAIN(TestDatasetAlignment)
#include "test_dataset_alignment.moc"
