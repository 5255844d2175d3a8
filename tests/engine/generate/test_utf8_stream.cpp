// Utf8Stream: multi-byte characters split across tokens at every byte, emoji and flag
// sequences, and ill-formed input replaced like Python's decode(errors="replace")
// (the expected strings below were produced by CPython 3).
#include <QtTest>

#include <string>
#include <vector>

#include "engine/core/rng.h"
#include "engine/generate/utf8_stream.h"

using lw::Utf8Stream;

namespace {
const std::string kFffd = "\xEF\xBF\xBD";

std::string repl(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += kFffd;
  return s;
}

// Streams `chunks`, checking that each emitted piece is valid UTF-8 on its own.
std::string stream(const std::vector<std::string>& chunks, bool* pieces_valid) {
  Utf8Stream s;
  std::string out;
  *pieces_valid = true;
  for (const auto& c : chunks) {
    std::string piece = s.push(c);
    if (!lw::check_utf8(piece, "piece").is_ok()) *pieces_valid = false;
    out += piece;
  }
  std::string tail = s.finish();
  if (!lw::check_utf8(tail, "tail").is_ok()) *pieces_valid = false;
  return out + tail;
}
}  // namespace

class TestUtf8Stream : public QObject {
  Q_OBJECT
 private slots:
  void holdsBackSplitCharacter() {
    Utf8Stream s;
    QCOMPARE(s.push("caf"), std::string("caf"));
    QCOMPARE(s.push("\xC3"), std::string());  // first byte of é
    QCOMPARE(s.pending().size(), size_t(1));
    QCOMPARE(s.push("\xA9!"), std::string("\xC3\xA9!"));
    QVERIFY(s.pending().empty());
    // An emoji (U+1F600, F0 9F 98 80) one byte at a time: nothing until the last byte.
    QCOMPARE(s.push("\xF0"), std::string());
    QCOMPARE(s.push("\x9F"), std::string());
    QCOMPARE(s.push("\x98"), std::string());
    QCOMPARE(s.push("\x80"), std::string("\xF0\x9F\x98\x80"));
    QCOMPARE(s.finish(), std::string());
  }

  void everySplitPoint() {
    // ASCII, 2-, 3- and 4-byte characters, a flag (two regional indicators) and a ZWJ
    // family: split into two pieces at every byte, and into single bytes.
    const std::string text =
        "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xE4\xB8\xAD "
        "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7 \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9z";
    QVERIFY(lw::check_utf8(text, "text").is_ok());
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      bool valid = false;
      QCOMPARE(stream({text.substr(0, cut), text.substr(cut)}, &valid), text);
      QVERIFY2(valid, ("cut at " + std::to_string(cut)).c_str());
    }
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    bool valid = false;
    QCOMPARE(stream(bytes, &valid), text);
    QVERIFY(valid);
    // Random chunkings (token lengths 0-5 bytes).
    lw::PhiloxStream rng(7);
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<std::string> chunks;
      for (size_t i = 0; i < text.size();) {
        size_t n = std::min<size_t>(rng.below(6), text.size() - i);
        chunks.push_back(text.substr(i, n));
        i += n;
      }
      QCOMPARE(stream(chunks, &valid), text);
      QVERIFY(valid);
    }
  }

  void invalid_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QByteArray>("expected");
    auto row = [](const char* name, std::string in, std::string out) {
      QTest::newRow(name) << QByteArray(in.data(), qsizetype(in.size()))
                          << QByteArray(out.data(), qsizetype(out.size()));
    };
    row("stray continuation", "a\x80z", "a" + repl(1) + "z");
    row("bad lead F5", "a\xF5z", "a" + repl(1) + "z");
    row("bad lead FF", "\xFF", repl(1));
    row("lead then ascii", "\xC3(", repl(1) + "(");
    row("two leads", "\xC2\xC2", repl(2));
    row("overlong C0", "\xC0\xAF", repl(2));
    row("overlong E0 80", "\xE0\x80", repl(2));
    row("overlong F0 80", "\xF0\x80\x80\x80", repl(4));
    row("surrogate", "\xED\xA0\x80", repl(3));
    row("above 10FFFF", "\xF4\x90\x80\x80", repl(4));
    row("truncated emoji then ascii",
        "\xF0\x9F\x98"
        "A",
        repl(1) + "A");
    row("truncated at end", "ok\xE2\x82", "ok" + repl(1));
    row("valid 4-byte max", "\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF");
  }

  void invalid() {
    QFETCH(QByteArray, bytes);
    QFETCH(QByteArray, expected);
    const std::string in(bytes.constData(), size_t(bytes.size()));
    const std::string want(expected.constData(), size_t(expected.size()));
    QCOMPARE(lw::sanitize_utf8(in), want);
    // Streamed byte by byte the result is the same.
    std::vector<std::string> pieces;
    for (char c : in) pieces.emplace_back(1, c);
    bool valid = false;
    QCOMPARE(stream(pieces, &valid), want);
    QVERIFY(valid);
  }

  void replacesAsSoonAsHopeless() {
    Utf8Stream s;
    // FF can never start a character: replaced at once, not held.
    QCOMPARE(s.push("\xFF"), kFffd);
    QVERIFY(s.pending().empty());
    // E0 is a valid start, E0 80 is not: E0 is replaced when 80 arrives, 80 too.
    QCOMPARE(s.push("\xE0"), std::string());
    QCOMPARE(s.push("\x80"), repl(2));
    // E2 82 is a valid prefix of the euro sign and stays held until the stream ends.
    QCOMPARE(s.push("\xE2\x82"), std::string());
    QCOMPARE(s.pending().size(), size_t(2));
    QCOMPARE(s.finish(), kFffd);
    QVERIFY(s.pending().empty());
  }

  void checkUtf8Messages() {
    QVERIFY(lw::check_utf8("plain \xE2\x82\xAC text\n", "p.txt").is_ok());
    auto st = lw::check_utf8("ab\ncd\xFF", "p.txt");
    QVERIFY(!st.is_ok());
    QCOMPARE(st.code(), lw::StatusCode::kInvalidArgument);
    QCOMPARE(st.message(),
             std::string("p.txt: invalid UTF-8 at line 2 (byte offset 5): byte 0xff"));
    st = lw::check_utf8("x\xE0\x80", "prompt");
    QCOMPARE(st.message(),
             std::string("prompt: invalid UTF-8 at line 1 (byte offset 2): byte 0x80"));
    st = lw::check_utf8("a\n\nb\xF0\x9F\x98", "f");
    QCOMPARE(st.message(), std::string("f: invalid UTF-8 at line 3 (byte offset 4): character cut "
                                       "off at the end (byte 0xf0)"));
  }
};

QTEST_GUILESS_MAIN(TestUtf8Stream)
#include "test_utf8_stream.moc"
