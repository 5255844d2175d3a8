// The sample project's parsers on committed fixtures (tests/data/samples/): synthetic mails
// in the layout of the SpamAssassin npm package (raw .txt and one .json), and tiny name
// lists. The real downloads are never needed here.
#include <QTest>
#include <QTemporaryDir>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/train/dataset_classify.h"
#include "engine/train/dataset_ner.h"
#include "engine/train/sample_data.h"

namespace {
const std::string kSamples = LW_SOURCE_DIR "/tests/data/samples";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

class TestSampleData : public QObject {
  Q_OBJECT
 private slots:
  void parseMail_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("subject");
    QTest::addColumn<QString>("body");
    QTest::newRow("plain, folded subject, mbox line") << "easy-ham-1/00001.aaaa0001.txt" << "Re: build failure on Friday"
        << "Hi all, the nightly build failed again because the test server was down. I restarted it. "
           "> Does anyone know why? Alice";
    QTest::newRow("latin-1 body, RFC 2047 subject") << "easy-ham-1/00002.aaaa0002.txt" << "Café menu for next week"
                                                    << "The café opens at nine.";
    QTest::newRow("html only, quoted-printable") << "spam-1/00001.cccc0001.txt" << "Life Insurance - Why Pay More?"
        << "Save up to 70% on life insurance & get a FREE quote today! Click here";
    QTest::newRow("multipart, base64, attachment skipped") << "spam-1/00002.cccc0002.txt" << "You won"
        << "Claim your prize of 1,000,000 dollars now. Reply with your bank details.";
    QTest::newRow("nothing left") << "spam-2/00002.dddd0002.txt" << "" << "";
  }
  void parseMail() {
    QFETCH(QString, file);
    QFETCH(QString, subject);
    QFETCH(QString, body);
    const std::string path = kSamples + "/spam-assassin/" + file.toStdString();
    auto mail = lw::train::parse_mail(slurp(path), path);
    QVERIFY2(mail.is_ok(), mail.status().message().c_str());
    QCOMPARE(QString::fromStdString(mail.value().subject), subject);
    QCOMPARE(QString::fromStdString(mail.value().body), body);
  }

  void emptyMailIsAnError() {
    auto mail = lw::train::parse_mail("  \n\n", "x.txt");
    QVERIFY(!mail.is_ok());
    QVERIFY(mail.status().message().find("x.txt") != std::string::npos);
  }

  void lineIsCutAtAWord() {
    lw::train::MailText m{"Hello", "one two three four five six"};
    QCOMPARE(QString::fromStdString(lw::train::mail_to_line(m, 200)), QString("Hello | one two three four five six"));
    QCOMPARE(QString::fromStdString(lw::train::mail_to_line(m, 16)), QString("Hello | one two"));
    lw::train::MailText accents{"", "éééé ààà"};
    QCOMPARE(QString::fromStdString(lw::train::mail_to_line(accents, 6)), QString("éééé"));
  }

  void convertsTheCorpusLayout() {
    QTemporaryDir out;
    lw::train::SpamAssassinOptions opts;
    opts.validation_fraction = 0.2;
    opts.test_fraction = 0.0;
    auto sum = lw::train::convert_spam_assassin(kSamples + "/spam-assassin", out.path().toStdString(), opts);
    QVERIFY2(sum.is_ok(), sum.status().message().c_str());
    const auto& s = sum.value();
    QCOMPARE(s.n_files, int64_t(8));  // 7 .txt and 1 .json
    QCOMPARE(s.n_ham, int64_t(3));
    QCOMPARE(s.n_spam, int64_t(3));
    QCOMPARE(s.n_duplicates, int64_t(1));
    QCOMPARE(s.n_empty, int64_t(1));
    QCOMPARE(s.n_train + s.n_validation + s.n_test, int64_t(6));
    QCOMPARE(s.groups.size(), size_t(4));
    // What we wrote reads back through the real classification reader.
    lw::train::ClassifyOptions copts;
    lw::train::SplitFiles files{out.filePath("train.tsv").toStdString(),
                                s.n_validation ? out.filePath("valid.tsv").toStdString() : "", ""};
    auto splits = lw::train::load_classify_splits(files, copts, {});
    QVERIFY2(splits.is_ok(), splits.status().message().c_str());
    QCOMPARE(splits.value().labels.labels(), (std::vector<std::string>{"ham", "spam"}));
    for (const auto* d : {&splits.value().train, &splits.value().validation})
      for (const auto& e : d->examples) QVERIFY(e.text.find('\t') == std::string::npos);
    QVERIFY(slurp(out.filePath("train.tsv").toStdString()).find("hard-ham-1/00001") != std::string::npos ||
            slurp(out.filePath("valid.tsv").toStdString()).find("hard-ham-1/00001") != std::string::npos);
    // Same seed, same files.
    QTemporaryDir again;
    QVERIFY(lw::train::convert_spam_assassin(kSamples + "/spam-assassin", again.path().toStdString(), opts).is_ok());
    QCOMPARE(slurp(again.filePath("train.tsv").toStdString()), slurp(out.filePath("train.tsv").toStdString()));
  }

  void missingCorpusNamesTheFolder() {
    QTemporaryDir out;
    auto sum = lw::train::convert_spam_assassin(kSamples + "/names", out.path().toStdString(), {});
    QVERIFY(!sum.is_ok());
    QVERIFY(sum.status().message().find("easy-ham-1") != std::string::npos);
  }

  void wordListDropsBlanksAndDuplicates() {
    auto names = lw::train::read_word_list(kSamples + "/names/female.txt");
    QVERIFY2(names.is_ok(), names.status().message().c_str());
    QCOMPARE(names.value(), (std::vector<std::string>{"Mary", "Patricia", "Linda", "Barbara", "Elizabeth", "Jennifer"}));
    QVERIFY(!lw::train::read_word_list(kSamples + "/names/missing.txt").is_ok());
  }

  void generatedSentencesAreValidIob2() {
    std::vector<std::string> names{"Mary", "John"}, places{"New York", "Utah"};
    auto s = lw::train::generate_name_sentences(names, places, 200, 7);
    QVERIFY(s.is_ok());
    QCOMPARE(s.value().size(), size_t(200));
    int multiword = 0;
    for (const auto& sen : s.value()) {
      QCOMPARE(sen.tokens.size(), sen.tags.size());
      QVERIFY(lw::train::validate_tags(sen.tags, lw::train::TagScheme::kIob2).is_ok());
      for (size_t i = 0; i < sen.tokens.size(); ++i) {
        if (sen.tags[i] == "B-LOC" && sen.tokens[i] == "New") {
          QCOMPARE(sen.tokens[i + 1], std::string("York"));
          QCOMPARE(sen.tags[i + 1], std::string("I-LOC"));
          ++multiword;
        }
        if (sen.tags[i] == "B-PER") QVERIFY(sen.tokens[i] == "Mary" || sen.tokens[i] == "John");
      }
    }
    QVERIFY(multiword > 0);
    auto again = lw::train::generate_name_sentences(names, places, 200, 7);
    QCOMPARE(again.value()[17].tokens, s.value()[17].tokens);
    QVERIFY(!lw::train::generate_name_sentences({}, places, 3, 1).is_ok());
  }

  void writesConllWithUnseenTestNames() {
    QTemporaryDir out;
    auto female = lw::train::read_word_list(kSamples + "/names/female.txt");
    auto male = lw::train::read_word_list(kSamples + "/names/male.txt");
    auto states = lw::train::read_word_list(kSamples + "/names/states.txt");
    std::vector<std::string> names = female.value();
    names.insert(names.end(), male.value().begin(), male.value().end());
    lw::train::NerNamesOptions opts;
    opts.n_train = 60;
    opts.n_validation = 20;
    opts.n_test = 20;
    auto sum = lw::train::write_ner_names(names, states.value(), out.path().toStdString(), opts);
    QVERIFY2(sum.is_ok(), sum.status().message().c_str());
    QVERIFY(sum.value().n_entities > 0);
    QVERIFY(slurp(out.filePath("README.md").toStdString()).find("GENERATED") != std::string::npos);
    std::set<std::string> people[2];
    const char* files[2] = {"train.conll", "test.conll"};
    for (int f = 0; f < 2; ++f) {
      auto data = lw::train::read_ner_file(out.filePath(files[f]).toStdString(), {});
      QVERIFY2(data.is_ok(), data.status().message().c_str());
      QCOMPARE(data.value().sentences.size(), size_t(f == 0 ? 60 : 20));
      for (const auto& sen : data.value().sentences)
        for (size_t i = 0; i < sen.tags.size(); ++i)
          if (sen.tags[i] == "B-PER") people[f].insert(sen.tokens[i]);
    }
    for (const auto& name : people[1]) QVERIFY2(!people[0].count(name), name.c_str());
    QVERIFY(!lw::train::write_ner_names({"a", "b"}, states.value(), out.path().toStdString(), opts).is_ok());
  }
};

QTEST_GUILESS_MAIN(TestSampleData)
#include "test_sample_data.moc"
