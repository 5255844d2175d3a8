// NER data: the real NCBI-disease and SNIPS-slots files (counts from ../shared/data/README.md,
// parse speed), CoNLL variants (several columns, whitespace, -DOCSTART-, tag column), tag
// schemes (IOB2/BIOES detection, IOB1 reading, conversion round trips), tag maps and preview.
#include <QElapsedTimer>
#include <QtTest>

#include "engine/train/dataset_ner.h"

using namespace lw::train;
using Tags = std::vector<std::string>;

namespace {
const std::string kData = std::string(LW_SHARED_DATA) + "/ner/";
}

class TestDatasetNer : public QObject {
  Q_OBJECT
 private slots:
  void ncbiDisease() {
    SplitFiles files{kData + "ncbi-disease/train.tsv", kData + "ncbi-disease/devel.tsv",
                     kData + "ncbi-disease/test.tsv"};
    auto s = load_ner_splits(files, {}, {});
    QVERIFY2(s.is_ok(), s.status().to_string().c_str());
    QCOMPARE(s->train.sentences.size(), size_t(5432));
    QCOMPARE(s->validation.sentences.size(), size_t(923));
    QCOMPARE(s->test.sentences.size(), size_t(940));
    QCOMPARE(int(s->train.scheme), int(TagScheme::kIob2));
    QCOMPARE(s->tags.labels(), (Tags{"O", "B-Disease", "I-Disease"}));
    const auto& first = s->train.sentences.front();
    QCOMPARE(first.tokens.front(), std::string("Identification"));
    QCOMPARE(first.tokens.size(), size_t(14));
    QCOMPARE(first.tags[8], std::string("B-Disease"));
    QCOMPARE(first.tag_ids[8], 1);
    QCOMPARE(s->train.sentences[1].line, int64_t(16));
    auto p = preview_ner(s->train, 3);
    QCOMPARE(p.n_tokens, int64_t(136086));
    QCOMPARE(p.entity_counts, (std::vector<std::pair<std::string, int64_t>>{{"Disease", 5145}}));
    QCOMPARE(p.n_entities, int64_t(5145));
    QCOMPARE(p.first_sentences.size(), size_t(3));
    QCOMPARE(p.sentence_lengths.count, int64_t(5432));
  }

  void snipsSlots() {
    QElapsedTimer timer;
    timer.start();
    auto s = load_ner_splits(
        {kData + "snips-slots/train.conll", kData + "snips-slots/valid.conll", ""}, {}, {});
    qint64 ms = timer.elapsed();
    QVERIFY2(s.is_ok(), s.status().to_string().c_str());
    QCOMPARE(s->train.sentences.size(), size_t(13784));
    QCOMPARE(s->validation.sentences.size(), size_t(700));
    QCOMPARE(s->tags.size(), 1 + 2 * 39);  // O + B-/I- for the 39 slot types
    auto p = preview_ner(s->train);
    QCOMPARE(p.n_tokens, int64_t(126179));
    QCOMPARE(p.n_entities, int64_t(35748));
    QCOMPARE(p.entity_counts.size(), size_t(39));
    QCOMPARE(s->train.sentences[0].tokens[6], std::string("Romántica"));
    qInfo("SNIPS slots (train + valid) parsed in %lld ms", static_cast<long long>(ms));
    QVERIFY2(ms < 1000, std::to_string(ms).c_str());
  }

  void seededSentenceSplit() {
    SplitOptions split{0.1, 0.05, 3};
    auto a = load_ner_splits({kData + "ncbi-disease/devel.tsv", "", ""}, {}, split);
    QVERIFY2(a.is_ok(), a.status().to_string().c_str());
    QCOMPARE(a->validation.sentences.size(), size_t(92));  // round(923 * 0.1)
    QCOMPARE(a->test.sentences.size(), size_t(46));
    QCOMPARE(a->train.sentences.size(), size_t(923 - 92 - 46));
    auto b = load_ner_splits({kData + "ncbi-disease/devel.tsv", "", ""}, {}, split);
    QCOMPARE(a->validation.sentences[5].line, b->validation.sentences[5].line);
  }

  void conllVariants() {
    // CoNLL-2003 layout: 4 space-separated columns, -DOCSTART-, tag in the last column.
    std::string text =
        "-DOCSTART- -X- -X- O\n\n"
        "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n\n"
        "Peter NNP B-NP B-PER\r\nBlackburn NNP I-NP I-PER\r\n";
    auto d = parse_ner_text("conll03.txt", text, {});
    QVERIFY2(d.is_ok(), d.status().to_string().c_str());
    QCOMPARE(d->sentences.size(), size_t(2));
    QCOMPARE(d->sentences[0].line, int64_t(3));
    QCOMPARE(d->sentences[1].line, int64_t(8));
    QCOMPARE(d->sentences[1].tags, (Tags{"B-PER", "I-PER"}));
    QCOMPARE(build_tag_map(*d).labels(),
             (Tags{"O", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"}));
    NerOptions o;
    o.tag_column = 2;  // the chunk column, also BIO
    d = parse_ner_text("conll03.txt", text, o);
    QVERIFY2(d.is_ok(), d.status().to_string().c_str());
    QCOMPARE(d->sentences[0].tags, (Tags{"B-NP", "B-VP", "B-NP"}));
    o.tag_column = 1;  // POS tags are no BIO tags
    d = parse_ner_text("conll03.txt", text, o);
    QVERIFY(!d.is_ok());
    QVERIFY2(d.status().message().find("conll03.txt:3: tag 'NNP' is not a valid IOB2 tag") == 0,
             d.status().message().c_str());
  }

  void schemes() {
    // BIOES detected from E-/S-; the map then holds all four prefixes per type.
    auto d = parse_ner_text("b.tsv", "New\tB-LOC\nYork\tE-LOC\nis\tO\nbig\tS-ADJ\n", {});
    QVERIFY2(d.is_ok(), d.status().to_string().c_str());
    QCOMPARE(int(d->scheme), int(TagScheme::kBioes));
    QCOMPARE(build_tag_map(*d).labels(),
             (Tags{"O", "B-ADJ", "I-ADJ", "E-ADJ", "S-ADJ", "B-LOC", "I-LOC", "E-LOC", "S-LOC"}));
    // IOB1 (I- starts entities) is an error as IOB2 and converted when asked for.
    std::string iob1 = "the\tO\nUnited\tI-LOC\nStates\tI-LOC\nEU\tI-ORG\nUN\tB-ORG\n";
    QVERIFY(!parse_ner_text("i.tsv", iob1, {}).is_ok());
    NerOptions o;
    o.scheme = TagScheme::kIob1;
    d = parse_ner_text("i.tsv", iob1, o);
    QVERIFY2(d.is_ok(), d.status().to_string().c_str());
    QCOMPARE(int(d->scheme), int(TagScheme::kIob2));
    QCOMPARE(d->sentences[0].tags, (Tags{"O", "B-LOC", "I-LOC", "B-ORG", "B-ORG"}));
  }

  void conversions() {
    Tags iob2 = {"B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "I-LOC", "B-X"};
    Tags bioes = {"B-PER", "E-PER", "O", "S-LOC", "B-LOC", "I-LOC", "E-LOC", "S-X"};
    QCOMPARE(*convert_tags(iob2, TagScheme::kIob2, TagScheme::kBioes), bioes);
    QCOMPARE(*convert_tags(bioes, TagScheme::kBioes, TagScheme::kIob2), iob2);
    QCOMPARE(*convert_tags(iob2, TagScheme::kIob2, TagScheme::kIob2), iob2);
    // Same entities either way.
    QCOMPARE(*extract_entities(iob2, TagScheme::kIob2),
             *extract_entities(bioes, TagScheme::kBioes));
    QCOMPARE(extract_entities(iob2, TagScheme::kIob2)->size(), size_t(4));
    QVERIFY(!convert_tags({"O", "I-PER"}, TagScheme::kIob2, TagScheme::kBioes).is_ok());
    size_t bad = 0;
    QVERIFY(!validate_tags({"O", "B-A", "I-A", "I-B"}, TagScheme::kIob2, &bad).is_ok());
    QCOMPARE(bad, size_t(3));
    QVERIFY(!validate_tags({"B-A", "I-A"}, TagScheme::kBioes, &bad).is_ok());
    QCOMPARE(bad, size_t(1));
    QVERIFY(validate_tags({}, TagScheme::kBioes, &bad).is_ok());
    QVERIFY(!parse_tag("B-", TagScheme::kIob2).is_ok());
    QCOMPARE(std::string(parse_tag("I-per-son", TagScheme::kIob2)->type), std::string("per-son"));
  }
};

QTEST_GUILESS_MAIN(TestDatasetNer)
#include "test_dataset_ner.moc"
