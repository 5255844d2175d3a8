// Classification data: the real SNIPS intents and UCI sentiment files (counts from
// ../shared/data/README.md), CSV quoting per RFC 4180, JSONL with string and integer labels,
// label maps (order, JSON round trip), seeded stratified splits and the preview.
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <set>

#include "engine/train/dataset_classify.h"

using namespace lw::train;

namespace {
const std::string kData = std::string(LW_SHARED_DATA) + "/cls/";

ClassifyOptions by_index(int text, int label) {
  ClassifyOptions o;
  o.text_column = ColumnSpec::at(text);
  o.label_column = ColumnSpec::at(label);
  return o;
}
}  // namespace

class TestDatasetClassify : public QObject {
  Q_OBJECT
 private slots:
  void snipsIntents() {
    QElapsedTimer timer;
    timer.start();
    auto s =
        load_classify_splits({kData + "snips/train.tsv", kData + "snips/valid.tsv", ""}, {}, {});
    QVERIFY2(s.is_ok(), s.status().to_string().c_str());
    QCOMPARE(s->train.examples.size(), size_t(13784));
    QCOMPARE(s->validation.examples.size(), size_t(700));
    QCOMPARE(s->test.examples.size(), size_t(0));
    QCOMPARE(s->labels.size(), 7);
    QCOMPARE(s->labels.label(0), std::string("AddToPlaylist"));
    QCOMPARE(s->labels.label(6), std::string("SearchScreeningEvent"));
    const auto& first = s->train.examples.front();
    QCOMPARE(first.text, std::string("Add another song to the Cita Romántica playlist."));
    QCOMPARE(first.line, int64_t(2));  // line 1 is the header
    QCOMPARE(first.label_id, s->labels.id("AddToPlaylist"));
    // A stray quote is plain text in TSV ("The Best Of The 12" Mixes").
    bool found = false;
    for (const auto& ex : s->train.examples)
      found |= ex.text.find("12\" Mixes") != std::string::npos;
    QVERIFY(found);
    auto p = preview_classify(s->train, 5);
    QCOMPARE(p.n_examples, int64_t(13784));
    QCOMPARE(p.first_rows.size(), size_t(5));
    QCOMPARE(p.label_counts.size(), size_t(7));
    QCOMPARE(p.label_counts[0], (std::pair<std::string, int64_t>("AddToPlaylist", 1942)));
    QCOMPARE(p.label_counts[2], (std::pair<std::string, int64_t>("GetWeather", 2000)));
    int64_t total = 0;
    for (auto v : p.word_lengths.bins) total += v;
    QCOMPARE(total, int64_t(13784));
    QVERIFY(p.word_lengths.min >= 1 && p.word_lengths.max < 60);
    QVERIFY(p.char_lengths.p50 > p.word_lengths.p50);
    QVERIFY2(timer.elapsed() < 1000, std::to_string(timer.elapsed()).c_str());
  }

  void uciSentimentSeededSplit() {
    auto o = by_index(0, 1);  // no header: columns by index
    for (const char* name : {"amazon_cells", "imdb", "yelp"}) {
      auto d = read_classify_file(kData + "uci-sentiment/" + name + "_labelled.txt", o);
      QVERIFY2(d.is_ok(), d.status().to_string().c_str());
      QCOMPARE(d->examples.size(), size_t(1000));
      QCOMPARE(d->examples.front().line, int64_t(1));
    }
    SplitOptions split{0.1, 0.1, 7};
    SplitFiles files{kData + "uci-sentiment/yelp_labelled.txt", "", ""};
    auto a = load_classify_splits(files, o, split);
    QVERIFY2(a.is_ok(), a.status().to_string().c_str());
    QCOMPARE(a->labels.labels(), (std::vector<std::string>{"0", "1"}));
    QCOMPARE(a->train.examples.size(), size_t(800));
    QCOMPARE(a->validation.examples.size(), size_t(100));
    QCOMPARE(a->test.examples.size(), size_t(100));
    int pos = 0;  // stratified: yelp is 500/500, so each split is half positive
    for (const auto& ex : a->validation.examples) pos += ex.label_id;
    QCOMPARE(pos, 50);
    // The same seed gives the same split; another seed another one.
    auto b = load_classify_splits(files, o, split);
    split.seed = 8;
    auto c = load_classify_splits(files, o, split);
    std::vector<int64_t> la, lb, lc;
    for (const auto& ex : a->validation.examples) la.push_back(ex.line);
    for (const auto& ex : b->validation.examples) lb.push_back(ex.line);
    for (const auto& ex : c->validation.examples) lc.push_back(ex.line);
    QCOMPARE(la, lb);
    QVERIFY(la != lc);
    QVERIFY(std::is_sorted(la.begin(), la.end()));  // splits keep file order
    std::set<int64_t> all;
    for (auto* d : {&a->train, &a->validation, &a->test})
      for (const auto& ex : d->examples) all.insert(ex.line);
    QCOMPARE(all.size(), size_t(1000));  // a partition
  }

  void splitKeepsRareLabelsInTraining() {
    std::vector<int> strata = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2};
    auto s = assign_splits(12, &strata, 0.4, 0.4, 1);
    QVERIFY(s.is_ok());
    QCOMPARE(int((*s)[9]), int(Split::kTrain));  // the only item of label 1
    int train2 = ((*s)[10] == Split::kTrain) + ((*s)[11] == Split::kTrain);
    QVERIFY(train2 >= 1);
    QVERIFY(!assign_splits(4, nullptr, 0.6, 0.5, 1).is_ok());
  }

  void csvQuoting() {
    std::string csv =
        "premise,hypothesis,label\r\n"
        "\"Hello, world\",\"He said \"\"hi\"\"\",entailment\r\n"
        "\"two\nlines\",plain,neutral\n"
        "\n"
        "a \"quoted\" word,\"\",contradiction\n";
    ClassifyOptions o;
    o.format = TableFormat::kCsv;
    o.text_column = ColumnSpec::named("premise");
    o.has_text_pair = true;
    o.text_pair_column = ColumnSpec::named("hypothesis");
    auto d = parse_classify_text("nli.csv", csv, o);
    QVERIFY(!d.is_ok());  // the last pair is empty
    QVERIFY2(
        d.status().message().find("nli.csv:6: the text pair column 'hypothesis' is empty") == 0,
        d.status().message().c_str());
    csv.replace(csv.find(",\"\","), 4, ",x,");
    d = parse_classify_text("nli.csv", csv, o);
    QVERIFY2(d.is_ok(), d.status().to_string().c_str());
    QCOMPARE(d->examples.size(), size_t(3));
    QCOMPARE(d->examples[0].text, std::string("Hello, world"));
    QCOMPARE(d->examples[0].text_pair, std::string("He said \"hi\""));
    QCOMPARE(d->examples[1].text, std::string("two\nlines"));
    QCOMPARE(d->examples[1].line, int64_t(3));
    QCOMPARE(d->examples[2].text, std::string("a \"quoted\" word"));
    QCOMPARE(d->examples[2].line, int64_t(6));
    QCOMPARE(d->examples[2].label, std::string("contradiction"));
  }

  void columnsByNameOrIndex() {
    std::string tsv = "id\tsentence\tscore\n1\tgood\t5\n2\tbad\t1\n";
    ClassifyOptions o;
    o.text_column = ColumnSpec::parse("sentence");
    o.label_column = ColumnSpec::parse("-1");
    auto d = parse_classify_text("r.tsv", tsv, o);  // a named column makes line 1 a header
    QVERIFY2(d.is_ok(), d.status().to_string().c_str());
    QCOMPARE(d->examples.size(), size_t(2));
    QCOMPARE(d->examples[1].label, std::string("1"));
    o = by_index(1, 2);
    o.header = HeaderMode::kYes;
    QCOMPARE(parse_classify_text("r.tsv", tsv, o)->examples.size(), size_t(2));
    o.header = HeaderMode::kAuto;  // all by index: no header, so "sentence" is an example
    QCOMPARE(parse_classify_text("r.tsv", tsv, o)->examples.size(), size_t(3));
    QCOMPARE(ColumnSpec::parse("2").index, 2);
    QVERIFY(ColumnSpec::parse("text2").by_name());
  }

  void jsonlLabels() {
    std::string jsonl =
        "{\"text\": \"ten\", \"label\": 10}\n"
        "\n"
        "{\"text\": \"two\", \"label\": 2, \"extra\": [1, 2]}\n"
        "{\"text\": \"nine \\u00e9\", \"label\": \"9\"}\n";
    auto d = parse_classify_text("n.jsonl", jsonl, {});
    QVERIFY2(d.is_ok(), d.status().to_string().c_str());
    QCOMPARE(d->examples.size(), size_t(3));
    QCOMPARE(d->examples[1].line, int64_t(3));
    QCOMPARE(d->examples[2].text, std::string("nine é"));
    std::vector<std::string> labels;
    for (const auto& ex : d->examples) labels.push_back(ex.label);
    // Integer labels sort numerically, so ids follow the numbers.
    QCOMPARE(LabelMap::build(labels).labels(), (std::vector<std::string>{"2", "9", "10"}));
    QCOMPARE(LabelMap::build({"b", "10", "a", "2"}).labels(),
             (std::vector<std::string>{"10", "2", "a", "b"}));
    ClassifyOptions o;
    o.label_column = ColumnSpec::at(1);
    auto bad = parse_classify_text("n.jsonl", jsonl, o);
    QVERIFY(!bad.is_ok());
    QVERIFY(bad.status().message().find("JSONL fields are chosen by name") != std::string::npos);
  }

  void labelMapJson() {
    auto m = LabelMap::build({"neg", "pos", "neg"});
    auto text = m.to_json();
    QVERIFY(text.find("\"id2label\"") != std::string::npos);
    QVERIFY(text.find("\"0\": \"neg\"") != std::string::npos);
    QVERIFY(text.find("\"pos\": 1") != std::string::npos);
    auto back = LabelMap::from_json("m.json", text);
    QVERIFY2(back.is_ok(), back.status().to_string().c_str());
    QVERIFY(*back == m);
    // A whole config.json works, and label2id alone is enough.
    auto cfg = LabelMap::from_json("config.json",
                                   R"({"model_type": "bert", "label2id": {"b": 1, "a": 0}})");
    QVERIFY(cfg.is_ok());
    QCOMPARE(cfg->labels(), (std::vector<std::string>{"a", "b"}));
    QTemporaryDir dir;
    std::string path = dir.filePath("labels.json").toStdString();
    QVERIFY(m.save(path).is_ok());
    auto loaded = LabelMap::load(path);
    QVERIFY2(loaded.is_ok(), loaded.status().to_string().c_str());
    QVERIFY(*loaded == m);
    QVERIFY(!LabelMap::from_list({"a", "a"}).is_ok());
  }

  void fixedLabelMapRejectsUnknown() {
    auto fixed = *LabelMap::from_list({"PlayMusic", "GetWeather"});
    QTemporaryDir dir;
    std::string path = dir.filePath("t.tsv").toStdString();
    FILE* f = fopen(path.c_str(), "w");
    fputs("text\tlabel\nplay\tPlayMusic\nbook\tBookRestaurant\n", f);
    fclose(f);
    auto s = load_classify_splits({path, "", ""}, {}, {0.0, 0.0, 1}, &fixed);
    QVERIFY(!s.is_ok());
    QVERIFY2(s.status().message().find("t.tsv:3: label 'BookRestaurant' is not in the label map") !=
                 std::string::npos,
             s.status().message().c_str());
  }

  void histogram() {
    auto h = make_histogram({1, 2, 2, 3, 10}, 5);
    QCOMPARE(h.count, int64_t(5));
    QCOMPARE(h.min, int64_t(1));
    QCOMPARE(h.max, int64_t(10));
    QCOMPARE(h.mean, 3.6);
    QCOMPARE(h.p50, int64_t(2));
    QCOMPARE(h.p95, int64_t(10));
    QCOMPARE(h.bin_width, int64_t(3));                     // ceil(11 / 5)
    QCOMPARE(h.bins, (std::vector<int64_t>{3, 1, 0, 1}));  // [0,3) [3,6) [6,9) [9,12)
    QCOMPARE(utf8_length("Romántica"), int64_t(9));
  }
};

QTEST_GUILESS_MAIN(TestDatasetClassify)
#include "test_dataset_classify.moc"
