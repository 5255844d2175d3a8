// Every file in tests/data/bad/tokenize must give a clear error that names the
// file and what is wrong, quickly, and leave the process running.
#include <QtTest/QtTest>

#include <chrono>

#include "engine/tokenize/tokenizer.h"

class TestTokenizerBadInput : public QObject {
  Q_OBJECT
 private slots:
  void bad_files_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("expected");
    // The expected text must appear in the error; README.md in the folder lists the same.
    QTest::newRow("vocab.txt invalid utf-8")
        << "vocab_txt_invalid_utf8" << "vocab_txt_invalid_utf8/vocab.txt: line 4: token is not valid UTF-8 (byte 1)";
    QTest::newRow("empty vocab.txt") << "empty_vocab_txt/vocab.txt" << "empty_vocab_txt/vocab.txt: empty vocabulary";
    QTest::newRow("vocab.json invalid utf-8")
        << "vocab_json_invalid_utf8" << "vocab_json_invalid_utf8/vocab.json: not valid UTF-8 at byte 11";
    QTest::newRow("merges unknown token")
        << "merges_unknown_token"
        << "merges_unknown_token/merges.txt: merge 2 ('ab zz') names 'zz', which is not in the vocabulary";
    QTest::newRow("merges bad line")
        << "merges_bad_line/merges.txt" << "merges_bad_line/merges.txt: line 3: expected two tokens separated by one space";
    QTest::newRow("damaged .model")
        << "damaged_model/tokenizer.model" << "damaged_model/tokenizer.model: not a valid SentencePiece model";
    QTest::newRow("truncated .model")
        << "truncated_model" << "truncated_model/tokenizer.model: not a valid SentencePiece model";
    QTest::newRow("tokenizer.json not json")
        << "tokenizer_json_not_json" << "tokenizer_json_not_json/tokenizer.json: not valid JSON";
    QTest::newRow("tokenizer.json unknown model")
        << "tokenizer_json_unknown_model"
        << "tokenizer_json_unknown_model/tokenizer.json: model.type: unknown model type 'Unigram'";
    QTest::newRow("tokenizer.json deep nesting")
        << "tokenizer_json_deep/tokenizer.json" << "tokenizer_json_deep/tokenizer.json: JSON nested deeper than 64 levels";
    QTest::newRow("tokenizer.json unknown merge")
        << "tokenizer_json_unknown_merge"
        << "tokenizer_json_unknown_merge/tokenizer.json: merge 2 ('a q') names 'q', which is not in the vocabulary";
    QTest::newRow("missing") << "no_such_folder" << "no_such_folder: no such file or folder";
  }
  void bad_files() {
    QFETCH(QString, path);
    QFETCH(QString, expected);
    const std::string full = std::string(LW_SOURCE_DIR) + "/tests/data/bad/tokenize/" + path.toStdString();
    auto t0 = std::chrono::steady_clock::now();
    auto r = lw::load_tokenizer(full);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    QVERIFY(!r.is_ok());
    const QString msg = QString::fromStdString(r.status().message());
    QVERIFY2(msg.contains(expected), qPrintable("got: " + msg));
    QVERIFY2(s < 2.0, qPrintable(QString("took %1 s").arg(s)));
  }
};

QTEST_GUILESS_MAIN(TestTokenizerBadInput)
#include "test_tokenizer_bad_input.moc"
