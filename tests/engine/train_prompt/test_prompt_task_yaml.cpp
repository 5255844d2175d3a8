// YAML task files (NeMo's task configs are YAML): a YAML file equal to a JSON file gives equal
// tasks (list form, `tasks:` mapping, one task, block scalars and NeMo's `null`s), a YAML syntax
// error names the file and its line, and validation errors are exactly the JSON loader's.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "engine/train/prompt_task.h"

using namespace lw;
using namespace lw::train;

namespace {

const char* kJson = R"({"tasks": [
  {"taskname": "sentiment", "prompt_template": "<|VIRTUAL_PROMPT_0|> {sentence} sentiment: {label}",
   "total_virtual_tokens": 10, "truncate_field": "sentence", "answer_only_loss": true,
   "answer_field": "label"},
  {"taskname": "intent_and_slot",
   "prompt_template": "<|VIRTUAL_PROMPT_0|> Predict intent and slot <|VIRTUAL_PROMPT_1|> :\n{utterance}{label}",
   "total_virtual_tokens": 100, "virtual_token_splits": [80, 20], "answer_only_loss": false,
   "answer_field": "label", "add_eos": false}]})";

// The same two tasks: the template of the second as a block scalar, quoted and plain text
// mixed, a NeMo-style `truncate_field: null`.
const char* kYaml = R"(tasks:
  - taskname: sentiment
    prompt_template: "<|VIRTUAL_PROMPT_0|> {sentence} sentiment: {label}"
    total_virtual_tokens: 10
    truncate_field: sentence
    answer_only_loss: True
    answer_field: 'label'
  - taskname: "intent_and_slot"
    prompt_template: |-
      <|VIRTUAL_PROMPT_0|> Predict intent and slot <|VIRTUAL_PROMPT_1|> :
      {utterance}{label}
    total_virtual_tokens: 100
    virtual_token_splits: [80, 20]
    truncate_field: null
    answer_only_loss: false
    answer_field: label
    add_eos: false
)";

}  // namespace

class TestPromptTaskYaml : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

  std::string write(const std::string& name, const std::string& text) {
    std::string p = dir_.path().toStdString() + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  static void compare(const std::vector<PromptTask>& a, const std::vector<PromptTask>& b) {
    QCOMPARE(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      QCOMPARE(task_to_json(a[i]), task_to_json(b[i]));
      QCOMPARE(a[i].fields(), b[i].fields());
      QCOMPARE(a[i].parts.size(), b[i].parts.size());
    }
  }

 private slots:
  void yamlEqualsJson() {
    auto j = load_tasks(write("tasks.json", kJson));
    QVERIFY2(j.is_ok(), j.status().message().c_str());
    auto y = load_tasks(write("tasks.yaml", kYaml));
    QVERIFY2(y.is_ok(), y.status().message().c_str());
    compare(*y, *j);
    QCOMPARE((*y)[1].virtual_token_splits, (std::vector<int32_t>{80, 20}));
    QCOMPARE((*y)[1].prompt_template, std::string("<|VIRTUAL_PROMPT_0|> Predict intent and slot "
                                                  "<|VIRTUAL_PROMPT_1|> :\n{utterance}{label}"));
    QVERIFY((*y)[0].answer_only_loss);
    QVERIFY(!(*y)[1].add_eos);
  }

  // The other shapes the JSON loader takes: a bare list, one task; .yml and .YAML too.
  void listAndSingleForms() {
    auto j = parse_tasks(R"([{"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|>{x}{label}",
                             "total_virtual_tokens": 3}])",
                         "inline");
    QVERIFY2(j.is_ok(), j.status().message().c_str());
    auto list =
        load_tasks(write("list.yml",
                         "- taskname: a\n  prompt_template: \"<|VIRTUAL_PROMPT_0|>{x}{label}\"\n"
                         "  total_virtual_tokens: 3\n"));
    QVERIFY2(list.is_ok(), list.status().message().c_str());
    compare(*list, *j);
    auto one = load_tasks(write("one.YAML",
                                "taskname: a\nprompt_template: \"<|VIRTUAL_PROMPT_0|>{x}{label}\"\n"
                                "total_virtual_tokens: 0x3\n"));
    QVERIFY2(one.is_ok(), one.status().message().c_str());
    compare(*one, *j);
    // The editor's text: JSON when it opens with { or [, YAML otherwise.
    auto text = parse_tasks_text(
        "taskname: a\nprompt_template: \"<|VIRTUAL_PROMPT_0|>{x}{label}\"\n"
        "total_virtual_tokens: 3\n",
        "editor");
    QVERIFY2(text.is_ok(), text.status().message().c_str());
    compare(*text, *j);
  }

  void syntaxErrorNamesFileAndLine() {
    // An unclosed flow list on line 4.
    const std::string p = write("broken.yaml",
                                "tasks:\n  - taskname: a\n    total_virtual_tokens: 3\n"
                                "    virtual_token_splits: [1, 2\n    answer_field: label\n");
    auto r = load_tasks(p);
    QVERIFY(!r.is_ok());
    const std::string& m = r.status().message();
    QVERIFY2(m.find(p + ":4:") == 0 || m.find(p + ":5:") == 0, m.c_str());
    QVERIFY2(m.find("YAML syntax error") != std::string::npos, m.c_str());
    // A bad indentation on line 3 of another file.
    const std::string q =
        write("indent.yml", "taskname: a\ntotal_virtual_tokens: 3\n  prompt_template: x: y\n");
    auto s = load_tasks(q);
    QVERIFY(!s.is_ok());
    QVERIFY2(s.status().message().find(q + ":3:") == 0, s.status().message().c_str());
    // A key given twice is named with its line.
    auto d = load_tasks(write("dup.yaml", "taskname: a\ntaskname: b\n"));
    QVERIFY(!d.is_ok());
    QVERIFY2(
        d.status().message().find("dup.yaml:2: key 'taskname' appears twice") != std::string::npos,
        d.status().message().c_str());
  }

  // Validation is shared: the same task failing in JSON and in YAML gives the same message
  // (the file name apart).
  void validationErrorsMatchJson_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("yaml");
    QTest::addColumn<QString>("error");
    QTest::newRow("splits not summing")
        << R"({"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|>x<|VIRTUAL_PROMPT_1|>{label}", "total_virtual_tokens": 10, "virtual_token_splits": [4, 4]})"
        << "taskname: a\nprompt_template: \"<|VIRTUAL_PROMPT_0|>x<|VIRTUAL_PROMPT_1|>{label}\"\n"
           "total_virtual_tokens: 10\nvirtual_token_splits:\n  - 4\n  - 4\n"
        << "virtual_token_splits sum to 8, not total_virtual_tokens = 10";
    QTest::newRow("unknown field")
        << R"({"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|>{label}", "total_virtual_tokens": 2, "answer_only": true})"
        << "taskname: a\nprompt_template: \"<|VIRTUAL_PROMPT_0|>{label}\"\ntotal_virtual_tokens: "
           "2\nanswer_only: true\n"
        << "unknown field 'answer_only'";
    QTest::newRow("quoted number is text")
        << R"({"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|>{label}", "total_virtual_tokens": "2"})"
        << "taskname: a\nprompt_template: \"<|VIRTUAL_PROMPT_0|>{label}\"\ntotal_virtual_tokens: "
           "\"2\"\n"
        << "'total_virtual_tokens' (an integer) is required";
    QTest::newRow("answer field missing")
        << R"({"taskname": "a", "prompt_template": "<|VIRTUAL_PROMPT_0|>{text}", "total_virtual_tokens": 2, "answer_only_loss": true})"
        << "taskname: a\nprompt_template: <|VIRTUAL_PROMPT_0|>{text}\ntotal_virtual_tokens: "
           "2\nanswer_only_loss: true\n"
        << "answer_only_loss needs the answer field {label} in the template";
    QTest::newRow("empty") << "[]"
                           << "# nothing here\n"
                           << "expected a non-empty list of tasks";
  }
  void validationErrorsMatchJson() {
    QFETCH(QString, json);
    QFETCH(QString, yaml);
    QFETCH(QString, error);
    auto j = load_tasks(write("same.json", json.toStdString()));
    auto y = load_tasks(write("same.yaml", yaml.toStdString()));
    QVERIFY(!j.is_ok());
    QVERIFY(!y.is_ok());
    std::string jm = j.status().message(), ym = y.status().message();
    QVERIFY2(jm.find(error.toStdString()) != std::string::npos, jm.c_str());
    for (std::string* m : {&jm, &ym}) {  // the file names differ by their extension only
      for (const char* ext : {"same.json", "same.yaml"})
        if (auto at = m->find(ext); at != std::string::npos) m->replace(at, 9, "same.FILE");
    }
    QCOMPARE(ym, jm);
  }
};

QTEST_GUILESS_MAIN(TestPromptTaskYaml)
#include "test_prompt_task_yaml.moc"
