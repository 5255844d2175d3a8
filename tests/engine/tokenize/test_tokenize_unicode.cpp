// The Unicode helpers behind the tokenizers: categories, NFD, lower-casing,
// UTF-8 validation, Rust-compatible lossy decoding, byte->character offsets,
// and GPT-2's split pattern written out by hand.
#include <QtTest/QtTest>

#include "engine/tokenize/hf_pipeline.h"
#include "engine/tokenize/unicode.h"

using namespace lw::unicode;

class TestTokenizeUnicode : public QObject {
  Q_OBJECT
 private slots:
  void categories() {
    QVERIFY(is_letter(U'a') && is_letter(U'Ж') && is_letter(U'東') && is_letter(U'ß'));
    QVERIFY(is_number(U'7') && is_number(U'٣') && is_number(U'½') && is_number(U'Ⅻ'));
    QVERIFY(is_punctuation(U'!') && is_punctuation(U'。') && is_punctuation(U'—'));
    QVERIFY(!is_punctuation(U'$') && !is_punctuation(U'+'));
    QVERIFY(is_nonspacing_mark(0x0301));
    QVERIFY(is_other(0x0001) && is_other(0x200B) && is_other(0xE000) && !is_other(U'a'));
    QVERIFY(is_white_space(U' ') && is_white_space(0x3000) && is_white_space(0x85) && !is_white_space(0x200B));
    QCOMPARE(int(category(0x10FFFF)), int(Category::Cn));
  }
  void nfd_and_lower() {
    std::u32string out;
    append_nfd(U'é', &out);
    QCOMPARE(out, std::u32string(U"e\u0301"));
    out.clear();
    append_nfd(0xD55C, &out);  // 한 -> three jamo
    QCOMPARE(out.size(), size_t(3));
    out.clear();
    append_lower(U'Σ', &out);
    append_lower(U'İ', &out);
    append_lower(U'Q', &out);
    QCOMPARE(out, std::u32string(U"σi\u0307q"));
  }
  void utf8() {
    QCOMPARE(find_invalid_utf8("héllo"), std::string::npos);
    QCOMPARE(find_invalid_utf8(std::string("a\xED\xA0\x80", 4)), size_t(1));  // surrogate
    QCOMPARE(find_invalid_utf8(std::string("ab\xF0\x9F", 4)), size_t(2));     // truncated
    // Maximal subparts: F0 9F (truncated 4-byte) is one U+FFFD, a lone 80 is another.
    QCOMPARE(QString::fromStdString(utf8_lossy(std::string("\xF0\x9F" "a\x80", 4))), QString("\uFFFDa\uFFFD"));
    QCOMPARE(QString::fromStdString(utf8_lossy(std::string("\xC0\xAF", 2))), QString("\uFFFD\uFFFD"));
  }
  void char_offsets() {
    std::string t = "aé東🤗";  // 1 + 2 + 3 + 4 bytes
    auto c = byte_to_char_offsets(t, {{0, 1}, {1, 3}, {3, 6}, {6, 10}, {6, 7}, {0, 0}});
    QCOMPARE(c[0], (std::pair<size_t, size_t>(0, 1)));
    QCOMPARE(c[1], (std::pair<size_t, size_t>(1, 2)));
    QCOMPARE(c[2], (std::pair<size_t, size_t>(2, 3)));
    QCOMPARE(c[3], (std::pair<size_t, size_t>(3, 4)));
    QCOMPARE(c[4], (std::pair<size_t, size_t>(3, 4)));  // inside a character: the whole character
    QCOMPARE(c[5], (std::pair<size_t, size_t>(0, 0)));
  }
  void gpt2_split_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("pieces");
    QTest::newRow("words") << "Hello world" << QStringList{"Hello", " world"};
    QTest::newRow("contractions") << "I'm don't they'll" << QStringList{"I", "'m", " don", "'t", " they", "'ll"};
    QTest::newRow("upper contraction") << "IT'S" << QStringList{"IT", "'", "S"};
    QTest::newRow("spaces") << "a   b" << QStringList{"a", "  ", " b"};
    QTest::newRow("trailing") << "a  " << QStringList{"a", "  "};
    QTest::newRow("newline") << "a\nb" << QStringList{"a", "\n", "b"};
    QTest::newRow("numbers") << "x 123abc" << QStringList{"x", " 123", "abc"};
    QTest::newRow("punct") << "hi!!! ?" << QStringList{"hi", "!!!", " ?"};
    QTest::newRow("tab run") << "a \t b" << QStringList{"a", " \t", " b"};
  }
  void gpt2_split() {
    QFETCH(QString, text);
    QFETCH(QStringList, pieces);
    std::string t = text.toStdString();
    QStringList got;
    for (auto [b, e] : lw::hf::gpt2_split(t)) got << QString::fromStdString(t.substr(b, e - b));
    QCOMPARE(got, pieces);
  }
};

QTEST_GUILESS_MAIN(TestTokenizeUnicode)
#include "test_tokenize_unicode.moc"
