// Every bad dataset fixture in tests/data/bad/datasets (listed with its expected message in
// expected.json) fails with an error that names the file and the 1-based line, before any
// training; plus a generated 10 MB single line, which must fail fast with bounded memory.
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/train/dataset_classify.h"
#include "engine/train/dataset_ner.h"

using namespace lw::train;

namespace {
const std::string kBad = std::string(LW_SOURCE_DIR) + "/tests/data/bad/datasets/";

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

lw::Status run_case(const nlohmann::json& c) {
  std::string kind = c["kind"], path = kBad + c["file"].get<std::string>();
  ClassifyOptions co;
  if (c.contains("text_col")) co.text_column = ColumnSpec::parse(c["text_col"]);
  if (c.contains("label_col")) co.label_column = ColumnSpec::parse(c["label_col"]);
  NerOptions no;
  if (c.contains("tag_col")) no.tag_column = c["tag_col"];
  if (c.value("scheme", "") == "bioes") no.scheme = TagScheme::kBioes;
  SplitOptions split;
  if (kind == "classify") return read_classify_file(path, co).status();
  if (kind == "ner") return read_ner_file(path, no).status();
  if (kind == "classify_dev")
    return load_classify_splits({kBad + c["train"].get<std::string>(), path, ""}, co, split)
        .status();
  if (kind == "ner_dev")
    return load_ner_splits({kBad + c["train"].get<std::string>(), path, ""}, no, split).status();
  if (kind == "label_map") return LabelMap::load(path).status();
  return lw::internal_error("unknown fixture kind " + kind);
}

// A file whose second line is `bytes` long, written in pieces (the test itself must not
// hold it either).
std::string write_long_line(const QTemporaryDir& dir, const std::string& name,
                            const std::string& first, size_t bytes) {
  std::string path = dir.filePath(QString::fromStdString(name)).toStdString();
  std::ofstream f(path, std::ios::binary);
  f << first;
  std::string chunk(1 << 16, 'x');
  for (size_t done = 0; done < bytes; done += chunk.size()) f << chunk;
  f << "\tlabel\n";
  return path;
}
}  // namespace

class TestDatasetBadInputs : public QObject {
  Q_OBJECT
 private slots:
  void fixtures_data() {
    QTest::addColumn<QString>("json");
    auto cases = nlohmann::json::parse(slurp(kBad + "expected.json"));
    QVERIFY(cases.size() >= 35);
    for (const auto& c : cases)
      QTest::newRow(c["file"].get<std::string>().c_str()) << QString::fromStdString(c.dump());
  }
  void fixtures() {
    QFETCH(QString, json);
    auto c = nlohmann::json::parse(json.toStdString());
    lw::Status st = run_case(c);
    QVERIFY2(!st.is_ok(), "expected an error");
    const std::string& msg = st.message();
    QVERIFY2(msg.find(c["error"].get<std::string>()) != std::string::npos, msg.c_str());
    std::string where = c["file"].get<std::string>();
    if (c["line"].get<int>() > 0) where += ":" + std::to_string(c["line"].get<int>()) + ": ";
    QVERIFY2(msg.find(where) != std::string::npos, (msg + "  (expected '" + where + "')").c_str());
    QCOMPARE(int(st.code()), int(lw::StatusCode::kInvalidArgument));
  }

  void tenMegabyteLine_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("first");
    QTest::newRow("tsv") << "long.tsv"
                         << "text\tlabel\n";
    QTest::newRow("csv") << "long.csv"
                         << "text,label\n";
    QTest::newRow("jsonl") << "long.jsonl"
                           << "{\"text\": \"a\", \"label\": 1}\n";
    QTest::newRow("conll") << "long.conll"
                           << "EU\tB-ORG\n";
  }
  void tenMegabyteLine() {
    QFETCH(QString, name);
    QFETCH(QString, first);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    std::string path = write_long_line(dir, name.toStdString(), first.toStdString(), 10u << 20);
    QElapsedTimer timer;
    timer.start();
    lw::Status st = name.endsWith(".conll") ? read_ner_file(path, {}).status()
                                            : read_classify_file(path, {}).status();
    QVERIFY(!st.is_ok());
    QVERIFY2(st.message().find(name.toStdString() + ":2: line is longer than 1048576 bytes") !=
                 std::string::npos,
             st.message().c_str());
    // It stops at the limit instead of reading the 10 MB line (generous bound for slow CI).
    QVERIFY2(timer.elapsed() < 2000, std::to_string(timer.elapsed()).c_str());
  }

  void lineLimitIsAnOption() {
    ClassifyOptions o;
    o.max_line_bytes = 16;
    auto r = parse_classify_text("small.tsv", "text\tlabel\nthis line is too long\tx\n", o);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("small.tsv:2: line is longer than 16 bytes") == 0,
             r.status().message().c_str());
    o.max_line_bytes = 64;
    QVERIFY(parse_classify_text("small.tsv", "text\tlabel\nthis line is too long\tx\n", o).is_ok());
  }

  void missingFile() {
    auto r = read_classify_file(kBad + "no_such_file.tsv", {});
    QCOMPARE(int(r.status().code()), int(lw::StatusCode::kNotFound));
    QVERIFY(r.status().message().find("no_such_file.tsv: cannot open") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestDatasetBadInputs)
#include "test_dataset_bad_inputs.moc"
