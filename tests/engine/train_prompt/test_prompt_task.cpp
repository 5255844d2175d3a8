// Prompt-task definitions: the exact token layout and loss mask of a two-marker template with
// answer_only_loss (hand-computed with the tiny byte-level tokenizer: bytes are their own ids,
// a letter pair "xy" of a..p is 256 + 16*x + y), truncation, and every bad-input error.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "engine/tokenize/tokenizer.h"
#include "engine/train/prompt_task.h"
#include "tests/engine/generate_loop/tiny_tokenizer.h"

using namespace lw;
using namespace lw::train;

class TestPromptTask : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<Tokenizer> tok_;

  std::string write(const std::string& name, const std::string& text) {
    std::string p = dir_.path().toStdString() + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  static void expect_error(const Status& st, const std::string& part) {
    QVERIFY2(!st.is_ok(), ("expected an error containing: " + part).c_str());
    QVERIFY2(st.message().find(part) != std::string::npos, st.message().c_str());
  }

 private slots:
  void initTestCase() {
    tiny_tokenizer::write(dir_.path().toStdString());
    auto t = load_tokenizer(dir_.path().toStdString());
    QVERIFY2(t.is_ok(), t.status().message().c_str());
    tok_ = std::move(*t);
  }

  // "<|VIRTUAL_PROMPT_0|>ab<|VIRTUAL_PROMPT_1|>:{text}{label}", splits [3, 2]:
  //   positions 0-2  virtual rows 0,1,2     label -100
  //   3              "ab" = 257             label -100 (answer_only_loss)
  //   4-5            virtual rows 3,4       label -100
  //   6              ":" = 58               label -100
  //   7-8            text "cd" "ef" = 256+2*16+3 = 291, 256+4*16+5 = 325   label -100
  //   9              label "pa" = 256+15*16+0 = 496                        label 496
  void twoMarkerLayout() {
    auto tasks = parse_tasks(R"({"taskname": "t1", "prompt_template":
        "<|VIRTUAL_PROMPT_0|>ab<|VIRTUAL_PROMPT_1|>:{text}{label}", "total_virtual_tokens": 5,
        "virtual_token_splits": [3, 2], "answer_only_loss": true, "add_eos": false})", "inline");
    QVERIFY2(tasks.is_ok(), tasks.status().message().c_str());
    PromptExample ex;
    ex.fields = {{"text", "cdef"}, {"label", "pa"}};
    auto l = layout_example((*tasks)[0], 0, ex, *tok_, {});
    QVERIFY2(l.is_ok(), l.status().message().c_str());
    QCOMPARE(l->ids, (std::vector<int32_t>{0, 0, 0, 257, 0, 0, 58, 291, 325, 496}));
    QCOMPARE(l->virtual_row, (std::vector<int32_t>{0, 1, 2, -1, 3, 4, -1, -1, -1, -1}));
    QCOMPARE(l->labels, (std::vector<int32_t>{-100, -100, -100, -100, -100, -100, -100, -100, -100, 496}));
    QCOMPARE(l->answer_start, int64_t(9));
    QCOMPARE(l->answer_ids, (std::vector<int32_t>{496}));
    // Without answer_only_loss every real token is a label; virtual slots never are.
    auto all = parse_tasks(R"({"taskname": "t2", "prompt_template":
        "<|VIRTUAL_PROMPT_0|>ab<|VIRTUAL_PROMPT_1|>:{text}{label}", "total_virtual_tokens": 5,
        "virtual_token_splits": [3, 2], "add_eos": false})", "inline");
    QVERIFY(all.is_ok());
    auto l2 = layout_example((*all)[0], 0, ex, *tok_, {});
    QVERIFY(l2.is_ok());
    QCOMPARE(l2->labels, (std::vector<int32_t>{-100, -100, -100, 257, -100, -100, 58, 291, 325, 496}));
    // The generation prompt stops where the answer starts.
    auto gp = layout_example((*tasks)[0], 0, ex, *tok_, {0, false});
    QVERIFY(gp.is_ok());
    QCOMPARE(gp->ids, (std::vector<int32_t>{0, 0, 0, 257, 0, 0, 58, 291, 325}));
  }

  // Spaces ending a literal belong to the field after it: "x: {label}" lays out as "x:" and
  // " pa", so the answer (and its loss) starts with the space, and a generation prompt ends
  // at ":" (the model then writes " pa", as byte-level BPE spells a word after a space).
  void literalSpaceJoinsTheField() {
    auto tasks = parse_tasks(R"({"taskname": "t", "prompt_template": "<|VIRTUAL_PROMPT_0|>x: {label}",
        "total_virtual_tokens": 1, "answer_only_loss": true, "add_eos": false})", "inline");
    QVERIFY2(tasks.is_ok(), tasks.status().message().c_str());
    PromptExample ex;
    ex.fields = {{"label", "pa"}};
    auto l = layout_example((*tasks)[0], 0, ex, *tok_, {});
    QVERIFY2(l.is_ok(), l.status().message().c_str());
    QCOMPARE(l->ids, (std::vector<int32_t>{0, 'x', ':', ' ', 496}));
    QCOMPARE(l->answer_start, int64_t(3));
    QCOMPARE(l->labels, (std::vector<int32_t>{-100, -100, -100, ' ', 496}));
    auto gp = layout_example((*tasks)[0], 0, PromptExample{}, *tok_, {0, false});
    QVERIFY2(gp.is_ok(), gp.status().message().c_str());
    QCOMPARE(gp->ids, (std::vector<int32_t>{0, 'x', ':'}));
  }

  void truncation() {
    auto tasks = parse_tasks(R"({"taskname": "t", "prompt_template": "<|VIRTUAL_PROMPT_0|>{text}:{label}",
        "total_virtual_tokens": 2, "truncate_field": "text", "answer_only_loss": true,
        "add_eos": false})", "inline");
    QVERIFY2(tasks.is_ok(), tasks.status().message().c_str());
    PromptExample ex;
    ex.fields = {{"text", "abcdefgh"}, {"label", "ab"}};  // text = 4 tokens
    auto l = layout_example((*tasks)[0], 0, ex, *tok_, {6, true});  // 2 + 4 + 1 + 1 = 8 > 6
    QVERIFY2(l.is_ok(), l.status().message().c_str());
    QCOMPARE(l->ids, (std::vector<int32_t>{0, 0, 257, 256 + 2 * 16 + 3, 58, 257}));
    auto too_short = layout_example((*tasks)[0], 0, ex, *tok_, {3, true});
    expect_error(too_short.status(), "truncating 'text' is not enough");
  }

  void badTasks_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("error");
    QTest::newRow("answer_only_loss without {label}")
        << R"({"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|> {sentence}", "total_virtual_tokens": 4, "answer_only_loss": true})"
        << "answer_only_loss needs the answer field {label} in the template";
    QTest::newRow("splits do not sum")
        << R"({"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|> x <|VIRTUAL_PROMPT_1|>{label}", "total_virtual_tokens": 10, "virtual_token_splits": [8, 3]})"
        << "virtual_token_splits sum to 11, not total_virtual_tokens = 10";
    QTest::newRow("unknown field")
        << R"({"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|>{label}", "total_virtual_tokens": 4, "answer_feild": "x"})"
        << "unknown field 'answer_feild'";
    QTest::newRow("no marker")
        << R"({"taskname": "a", "prompt_template": "{sentence}{label}", "total_virtual_tokens": 4})"
        << "has no <|VIRTUAL_PROMPT_0|> marker";
    QTest::newRow("marker gap")
        << R"({"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|><|VIRTUAL_PROMPT_2|>{label}", "total_virtual_tokens": 4, "virtual_token_splits": [2, 2]})"
        << "each once";
    QTest::newRow("answer not last")
        << R"({"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|>{label} {sentence}", "total_virtual_tokens": 4, "answer_only_loss": true})"
        << "must end with {label}";
    QTest::newRow("truncate field unknown")
        << R"({"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|>{sentence}{label}", "total_virtual_tokens": 4, "truncate_field": "text"})"
        << "truncate_field 'text' is not a field of the template";
    QTest::newRow("bad taskname")
        << R"({"taskname": "a b", "prompt_template": "<|VIRTUAL_PROMPT_0|>{label}", "total_virtual_tokens": 4})"
        << "taskname 'a b' must be";
    QTest::newRow("not json") << "{" << "tasks.json: not valid JSON";
  }
  void badTasks() {
    QFETCH(QString, json);
    QFETCH(QString, error);
    std::string p = write("tasks.json", json.toStdString());
    auto r = load_tasks(p);
    expect_error(r.status(), error.toStdString());
    QVERIFY2(r.status().message().find("tasks.json") != std::string::npos, r.status().message().c_str());
  }

  void badData() {
    auto tasks = parse_tasks(R"({"tasks": [
        {"taskname": "sent", "prompt_template": "<|VIRTUAL_PROMPT_0|>{sentence}:{label}", "total_virtual_tokens": 2},
        {"taskname": "intent", "prompt_template": "<|VIRTUAL_PROMPT_0|>{utterance}{label}", "total_virtual_tokens": 3}]})",
                             "inline");
    QVERIFY2(tasks.is_ok(), tasks.status().message().c_str());
    std::string p = write("bad.jsonl", "{\"taskname\": \"sent\", \"sentence\": \"ab\", \"label\": \"cd\"}\n\n"
                                       "{\"taskname\": \"sent\", \"sentence\": \"ab\" \"label\": 1}\n");
    expect_error(load_examples(p, *tasks).status(), "bad.jsonl:3: not JSON");
    p = write("missing.jsonl", "{\"taskname\": \"intent\", \"text\": \"ab\", \"label\": \"x\"}\n");
    expect_error(load_examples(p, *tasks).status(),
                 "missing.jsonl:1: the template of task 'intent' needs field 'utterance'");
    p = write("unknown.jsonl", "{\"taskname\": \"other\", \"sentence\": \"ab\", \"label\": \"x\"}\n");
    expect_error(load_examples(p, *tasks).status(), "unknown.jsonl:1: unknown task 'other'");
    p = write("notask.jsonl", "{\"sentence\": \"ab\", \"label\": \"x\"}\n");
    expect_error(load_examples(p, *tasks).status(), "no \"taskname\" and there are 2 tasks");
    p = write("good.jsonl", "{\"taskname\": \"intent\", \"utterance\": \"ab\", \"label\": 3}\n");
    auto ok = load_examples(p, *tasks);
    QVERIFY2(ok.is_ok(), ok.status().message().c_str());
    QCOMPARE((*ok)[0].fields.at("label"), std::string("3"));
  }
};

QTEST_GUILESS_MAIN(TestPromptTask)
#include "test_prompt_task.moc"
