// The Prompt-tune page's form (see prompt_tune_page.h): files with Browse…, the task editor
// and its summary, the live preview, the data table and the method with its encoder settings.
// Previews run on the GUI thread: they only parse the tasks text and one data line
// (engine/api preview_task, no model); everything that touches a model goes to the worker.
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QSyntaxHighlighter>
#include <QTableWidget>
#include <QTextStream>
#include <QVBoxLayout>

#include "engine/api/system_info.h"
#include "ui/prompt_tune/prompt_tune_page.h"

namespace {

// Template fields in blue, virtual-token markers in orange (bold).
class TaskHighlighter : public QSyntaxHighlighter {
 public:
  using QSyntaxHighlighter::QSyntaxHighlighter;

 protected:
  void highlightBlock(const QString& text) override {
    QTextCharFormat field, marker;
    field.setForeground(QColor(30, 100, 220));
    marker.setForeground(QColor(220, 120, 0));
    marker.setFontWeight(QFont::Bold);
    static const QRegularExpression fieldRe(R"(\{[A-Za-z0-9_]+\})");
    static const QRegularExpression markerRe(R"(<\|VIRTUAL_PROMPT_[0-9]+\|>)");
    for (auto it = fieldRe.globalMatch(text); it.hasNext();) {
      auto m = it.next();
      setFormat(int(m.capturedStart()), int(m.capturedLength()), field);
    }
    for (auto it = markerRe.globalMatch(text); it.hasNext();) {
      auto m = it.next();
      setFormat(int(m.capturedStart()), int(m.capturedLength()), marker);
    }
  }
};

// The first n non-blank lines of a file.
QStringList firstLines(const QString& path, int n) {
  QFile f(path);
  if (path.isEmpty() || !f.open(QIODevice::ReadOnly | QIODevice::Text)) return {};
  QTextStream in(&f);
  QStringList lines;
  while (!in.atEnd() && lines.size() < n) {
    QString l = in.readLine();
    if (!l.trimmed().isEmpty()) lines << l;
  }
  return lines;
}

const char* kDefaultTasks = R"({
  "taskname": "sentiment",
  "prompt_template": "<|VIRTUAL_PROMPT_0|> {sentence} sentiment: {label}",
  "total_virtual_tokens": 10,
  "truncate_field": "sentence",
  "answer_only_loss": true,
  "answer_field": "label"
})";

QString cellText(const QJsonValue& v) {
  if (v.isString()) return v.toString();
  if (v.isDouble()) return QString::number(v.toDouble());
  if (v.isBool()) return v.toBool() ? "true" : "false";
  if (v.isArray())
    return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact));
  if (v.isObject())
    return QString::fromUtf8(QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact));
  return {};
}

QWidget* withBrowse(QLineEdit* edit, QPushButton* browse) {
  auto* w = new QWidget;
  auto* h = new QHBoxLayout(w);
  h->setContentsMargins(0, 0, 0, 0);
  h->addWidget(edit, 1);
  h->addWidget(browse);
  return w;
}

}  // namespace

QWidget* PromptTunePage::buildFiles() {
  auto* box = new QGroupBox("Model and data");
  auto* form = new QFormLayout(box);
  m_model = new QLineEdit;
  m_model->setObjectName("baseModel");
  m_tasksFile = new QLineEdit;
  m_tasksFile->setObjectName("tasksFile");
  m_tasksFile->setPlaceholderText("tasks .json / .yaml (or edit below)");
  m_train = new QLineEdit;
  m_train->setObjectName("trainFile");
  m_dev = new QLineEdit;
  m_dev->setObjectName("devFile");
  m_out = new QLineEdit;
  m_out->setObjectName("tableFile");
  m_initFrom = new QLineEdit;
  m_initFrom->setObjectName("initFromTable");
  m_initFrom->setPlaceholderText("optional: a table to extend (its tasks keep their prompts)");
  m_peftDir = new QLineEdit;
  m_peftDir->setObjectName("peftDir");
  m_peftDir->setPlaceholderText("optional: also export a PEFT adapter folder");
  struct Row {
    const char* label;
    QLineEdit* edit;
    const char* title;
    const char* filter;
    bool folder, save;
  };
  const Row rows[] = {
      {"Base model", m_model, "Base model folder", "", true, false},
      {"Tasks file", m_tasksFile, "Tasks file", "Tasks (*.json *.yaml *.yml);;All files (*)", false,
       false},
      {"Train JSONL", m_train, "Training data", "JSON lines (*.jsonl *.json);;All files (*)", false,
       false},
      {"Dev JSONL", m_dev, "Validation data", "JSON lines (*.jsonl *.json);;All files (*)", false,
       false},
      {"Prompt table", m_out, "Prompt table to write", "Prompt tables (*.safetensors)", false,
       true},
      {"Extend table", m_initFrom, "Prompt table to extend", "Prompt tables (*.safetensors)", false,
       false},
      {"PEFT export", m_peftDir, "PEFT adapter folder to write", "", true, false},
  };
  for (const Row& r : rows) {
    auto* b = new QPushButton("Browse…");
    b->setObjectName(QString("browse_%1").arg(r.edit->objectName()));
    connect(b, &QPushButton::clicked, this,
            [=, this] { browse(r.edit, r.title, r.filter, r.folder, r.save); });
    form->addRow(r.label, withBrowse(r.edit, b));
  }
  connect(m_tasksFile, &QLineEdit::editingFinished, this, [this] {
    if (!m_tasksFile->text().trimmed().isEmpty()) loadTasksFile(m_tasksFile->text().trimmed());
  });
  connect(m_train, &QLineEdit::textChanged, this, &PromptTunePage::updateDataPreview);
  return box;
}

QWidget* PromptTunePage::buildMethod() {
  auto* box = new QGroupBox("Method");
  auto* form = new QFormLayout(box);
  m_method = new QComboBox;
  m_method->setObjectName("method");
  m_method->addItems({"prompt-tuning", "p-tuning"});
  m_method->setToolTip(
      "prompt-tuning trains the virtual-token rows directly; p-tuning trains a "
      "prompt encoder, then writes its output into the table");
  form->addRow("Method", m_method);
  m_init = new QComboBox;
  m_init->setObjectName("init");
  m_init->addItems({"random", "text", "vocab"});
  m_init->setToolTip("How new tasks' virtual tokens start: random, the embeddings of a text "
                     "(repeated or cut to the length) or of randomly drawn vocabulary tokens");
  m_initText = new QLineEdit;
  m_initText->setObjectName("initText");
  m_initText->setPlaceholderText("init text, e.g. \"Classify the sentiment of this review\"");
  m_initText->setEnabled(false);
  auto* initRow = new QHBoxLayout;
  initRow->addWidget(m_init);
  initRow->addWidget(m_initText, 1);
  form->addRow("Init", initRow);
  connect(m_init, &QComboBox::currentTextChanged, this,
          [this](const QString& i) { m_initText->setEnabled(i == "text"); });
  m_encoderBox = new QGroupBox("Prompt encoder (p-tuning)");
  auto* ef = new QHBoxLayout(m_encoderBox);  // one row: the page is often short
  m_encoder = new QComboBox;
  m_encoder->addItems({"mlp", "lstm"});
  m_encoderHidden = new QSpinBox;
  m_encoderHidden->setRange(0, 65536);
  m_encoderHidden->setSpecialValueText("model width");
  m_encoderLayers = new QSpinBox;
  m_encoderLayers->setRange(1, 16);
  m_encoderLayers->setValue(2);
  m_encoderDropout = new QDoubleSpinBox;
  m_encoderDropout->setRange(0, 0.9);
  m_encoderDropout->setSingleStep(0.05);
  const std::pair<const char*, QWidget*> encoderRows[] = {
      {"Encoder", m_encoder}, {"Hidden size", m_encoderHidden}, {"Layers", m_encoderLayers},
      {"Dropout", m_encoderDropout}};
  for (const auto& [label, w] : encoderRows) {
    ef->addWidget(new QLabel(label));
    ef->addWidget(w);
  }
  ef->addStretch(1);
  m_encoderBox->setVisible(false);
  form->addRow(m_encoderBox);
  m_epochs = new QSpinBox;
  m_epochs->setRange(1, 1000);
  m_epochs->setValue(3);
  m_batch = new QSpinBox;
  m_batch->setRange(1, 4096);
  m_batch->setValue(8);
  m_lr = new QDoubleSpinBox;
  m_lr->setDecimals(5);
  m_lr->setRange(1e-5, 10);
  m_lr->setValue(0.03);
  m_warmup = new QSpinBox;
  m_warmup->setObjectName("warmup");
  m_warmup->setRange(-1, 1000000);
  m_warmup->setValue(-1);
  m_warmup->setSpecialValueText("10%");
  m_warmup->setToolTip("Warm-up steps before the cosine decay (10% of the steps by default)");
  m_seed = new QSpinBox;
  m_seed->setObjectName("seed");
  m_seed->setRange(0, 2147483647);
  m_device = new QComboBox;
  m_device->setObjectName("device");
  m_device->addItem("cpu");
  for (const auto& dev : lw::query_system().cuda_devices)
    m_device->addItem(QStringLiteral("cuda:%1").arg(dev.index), QString::fromStdString(dev.name));
  if (m_device->count() > 1) m_device->setCurrentIndex(1);
  m_device->setToolTip("Where to train: bf16 on a CUDA device, f32 on the CPU");
  auto* hyper = new QHBoxLayout;
  const std::pair<const char*, QWidget*> hyperRows[] = {
      {"Epochs", m_epochs}, {"LR", m_lr},     {"Batch", m_batch},
      {"Warm-up", m_warmup}, {"Seed", m_seed}, {"Device", m_device}};
  for (const auto& [label, w] : hyperRows) {
    hyper->addWidget(new QLabel(label));
    hyper->addWidget(w);
  }
  hyper->addStretch(1);
  form->addRow(hyper);
  connect(m_method, &QComboBox::currentTextChanged, this,
          [this](const QString& m) { m_encoderBox->setVisible(m == "p-tuning"); });
  // An LSTM encoder is usually one bidirectional layer (P-tuning v1); an MLP two (PEFT).
  connect(m_encoder, &QComboBox::currentTextChanged, this,
          [this](const QString& e) { m_encoderLayers->setValue(e == "lstm" ? 1 : 2); });
  return box;
}

QWidget* PromptTunePage::buildForm() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  v->addWidget(buildFiles());
  auto* tasksHeader = new QHBoxLayout;
  tasksHeader->addWidget(
      new QLabel("<b>Tasks</b> (JSON or YAML: template with "
                 "<span style='color:#dc7800'><b>&lt;|VIRTUAL_PROMPT_n|&gt;</b></span> "
                 "markers and <span style='color:#1e64dc'>{fields}</span>)"));
  tasksHeader->addStretch(1);
  v->addLayout(tasksHeader);
  m_tasks = new QPlainTextEdit(QString::fromUtf8(kDefaultTasks));
  m_tasks->setObjectName("tasksEditor");
  m_tasks->setMinimumHeight(110);
  new TaskHighlighter(m_tasks->document());
  v->addWidget(m_tasks, 2);
  m_summary = new QLabel;
  m_summary->setObjectName("taskSummary");
  m_summary->setWordWrap(true);
  m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
  v->addWidget(m_summary);
  auto* previewHeader = new QHBoxLayout;
  previewHeader->addWidget(new QLabel("<b>Preview</b> of a training example of task"));
  m_previewTask = new QComboBox;
  m_previewTask->setObjectName("previewTask");
  m_previewTask->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  previewHeader->addWidget(m_previewTask);
  previewHeader->addStretch(1);
  v->addLayout(previewHeader);
  m_preview = new QLabel;
  m_preview->setObjectName("taskPreview");
  m_preview->setWordWrap(true);
  m_preview->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_preview->setStyleSheet(
      "QLabel { background: #f6f7f9; border: 1px solid #dde1e6; border-radius: 4px; padding: 4px; "
      "}");
  v->addWidget(m_preview);
  v->addWidget(new QLabel("<b>Data</b> (first rows of the training file)"));
  m_dataPreview = new QTableWidget;
  m_dataPreview->setObjectName("dataPreview");
  m_dataPreview->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_dataPreview->verticalHeader()->setVisible(false);
  m_dataPreview->verticalHeader()->setDefaultSectionSize(m_dataPreview->fontMetrics().height() + 6);
  m_dataPreview->setAlternatingRowColors(true);
  m_dataPreview->horizontalHeader()->setStretchLastSection(true);
  const int rowHeight = m_dataPreview->verticalHeader()->defaultSectionSize();
  m_dataPreview->setMinimumHeight(5 * rowHeight + rowHeight + 8);  // header + the 5 rows shown
  m_dataPreview->setMaximumHeight(5 * rowHeight + rowHeight + 8);
  v->addWidget(m_dataPreview, 1);
  v->addWidget(buildMethod());
  m_trainButton = new QPushButton("Train");
  m_stopButton = new QPushButton("Stop");
  m_stopButton->setEnabled(false);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(m_trainButton);
  buttons->addWidget(m_stopButton);
  buttons->addStretch(1);
  v->addLayout(buttons);
  m_status = new QLabel;
  m_status->setObjectName("status");
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  v->addWidget(m_status);
  connect(m_tasks, &QPlainTextEdit::textChanged, this, &PromptTunePage::updatePreview);
  connect(m_previewTask, &QComboBox::currentTextChanged, this, &PromptTunePage::updatePreview);
  connect(m_trainButton, &QPushButton::clicked, this, &PromptTunePage::startTraining);
  connect(m_stopButton, &QPushButton::clicked, this, &PromptTunePage::stopTraining);
  updateDataPreview();
  return w;
}

void PromptTunePage::browse(QLineEdit* edit, const QString& title, const QString& filter,
                            bool folder, bool save) {
  const QString current = edit->text().trimmed();
  const QString start = !current.isEmpty()    ? current
                        : m_project.isEmpty() ? QDir::homePath()
                                              : m_project;
  const QString picked = folder ? QFileDialog::getExistingDirectory(this, title, start)
                         : save ? QFileDialog::getSaveFileName(this, title, start, filter)
                                : QFileDialog::getOpenFileName(this, title, start, filter);
  if (picked.isEmpty()) return;
  edit->setText(picked);
  if (edit == m_tasksFile) loadTasksFile(picked);
}

void PromptTunePage::setProject(const QString& dir) {
  m_project = dir;
  if (m_out->text().isEmpty()) m_out->setText(QDir(dir).filePath("prompt_table.safetensors"));
}
void PromptTunePage::setModelDir(const QString& dir) {
  m_model->setText(dir);
}
void PromptTunePage::setTrainFile(const QString& path) {
  m_train->setText(path);
}
void PromptTunePage::setDevFile(const QString& path) {
  m_dev->setText(path);
}
void PromptTunePage::setTasksJson(const QString& json) {
  m_tasks->setPlainText(json);
}
QString PromptTunePage::preview() const {
  return m_preview->text();
}
QString PromptTunePage::taskSummary() const {
  return m_summary->text();
}

bool PromptTunePage::loadTasksFile(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    setStatus(QString("%1: cannot open the tasks file (%2)").arg(path, f.errorString()));
    return false;
  }
  m_tasksFile->setText(path);
  m_tasks->setPlainText(QString::fromUtf8(f.readAll()));
  auto t =
      lw::api::parse_task_definitions(m_tasks->toPlainText().toStdString(), path.toStdString());
  setStatus(t.is_ok() ? tr("Loaded %n task(s) from %1", nullptr, int(t->size())).arg(path)
                      : QString::fromStdString(t.status().message()));
  return t.is_ok();
}

PromptTuneJob PromptTunePage::job() const {
  PromptTuneJob j;
  j.modelDir = m_model->text().trimmed();
  j.tasksText = m_tasks->toPlainText();
  j.trainPath = m_train->text().trimmed();
  j.devPath = m_dev->text().trimmed();
  j.projectDir = m_project;
  j.outPath = m_out->text().trimmed();
  j.method = m_method->currentText();
  j.encoder = m_encoder->currentText();
  j.encoderHidden = m_encoderHidden->value();
  j.encoderLayers = m_encoderLayers->value();
  j.encoderDropout = m_encoderDropout->value();
  j.epochs = m_epochs->value();
  j.lr = m_lr->value();
  j.batch = m_batch->value();
  j.init = m_init->currentText();
  j.initText = m_initText->text();
  j.initFrom = m_initFrom->text().trimmed();
  j.peftDir = m_peftDir->text().trimmed();
  j.device = m_device->currentText();
  j.seed = m_seed->value();
  j.warmupSteps = m_warmup->value();
  return j;
}

// The first rows of the training file as a table: one column per key, in order of appearance.
void PromptTunePage::updateDataPreview() {
  const QStringList lines = firstLines(m_train->text().trimmed(), 5);
  QStringList columns;
  QVector<QJsonObject> rows;
  for (const QString& l : lines) {
    const QJsonDocument d = QJsonDocument::fromJson(l.toUtf8());
    QJsonObject o = d.isObject() ? d.object() : QJsonObject{{"(not JSON)", l}};
    for (const QString& k : o.keys())
      if (!columns.contains(k)) columns << k;
    rows << o;
  }
  m_dataPreview->clear();
  m_dataPreview->setColumnCount(columns.isEmpty() ? 1 : int(columns.size()));
  m_dataPreview->setHorizontalHeaderLabels(columns.isEmpty() ? QStringList{"(no training file yet)"}
                                                             : columns);
  m_dataPreview->setRowCount(int(rows.size()));
  for (int r = 0; r < rows.size(); ++r)
    for (int c = 0; c < columns.size(); ++c) {
      m_dataPreview->setItem(r, c, new QTableWidgetItem(cellText(rows[r].value(columns[c]))));
    }
  m_dataPreview->resizeColumnsToContents();
  updatePreview();
}

void PromptTunePage::updatePreview() {
  const std::string text = m_tasks->toPlainText().toStdString();
  auto tasks = lw::api::parse_task_definitions(text);
  if (!tasks.is_ok()) {
    m_summary->clear();
    m_preview->setText("<span style='color:#c33'>" +
                       QString::fromStdString(tasks.status().message()).toHtmlEscaped() +
                       "</span>");
    return;
  }
  // Per task: its virtual tokens, how the markers split them, the answer field.
  QStringList summary, names;
  for (const auto& t : *tasks) {
    QStringList splits;
    for (int32_t s : t.virtual_token_splits) splits << QString::number(s);
    names << QString::fromStdString(t.taskname);
    summary << QString(
                   "<b>%1</b>: %2 virtual tokens in %3 [%4] · answer <span "
                   "style='color:#1e64dc'>{%5}</span>%6%7")
                   .arg(names.back().toHtmlEscaped())
                   .arg(t.total_virtual_tokens)
                   .arg(splits.size() == 1 ? "1 block" : QString("%1 blocks").arg(splits.size()))
                   .arg(splits.join(", "))
                   .arg(QString::fromStdString(t.answer_field).toHtmlEscaped())
                   .arg(t.answer_only_loss ? " (answer-only loss)" : "")
                   .arg(t.truncate_field.empty()
                            ? QString()
                            : " · truncates {" +
                                  QString::fromStdString(t.truncate_field).toHtmlEscaped() + "}");
  }
  m_summary->setText(summary.join("<br>"));
  const QString keep = m_previewTask->currentText();
  QStringList shown;
  for (int i = 0; i < m_previewTask->count(); ++i) shown << m_previewTask->itemText(i);
  if (shown != names) {
    m_previewTask->blockSignals(true);
    m_previewTask->clear();
    m_previewTask->addItems(names);
    if (names.contains(keep)) m_previewTask->setCurrentText(keep);
    m_previewTask->blockSignals(false);
  }
  const QString task = m_previewTask->currentText();
  // The first data line of that task (a line without "taskname" belongs to a single task).
  QString line;
  for (const QString& l : firstLines(m_train->text().trimmed(), 200)) {
    const QJsonObject o = QJsonDocument::fromJson(l.toUtf8()).object();
    if (!o.contains("taskname") || o.value("taskname").toString() == task) {
      line = l;
      break;
    }
  }
  if (line.isEmpty()) {
    m_preview->setText(QString("<i>No training example of task %1 yet: choose the train file.</i>")
                           .arg(task.toHtmlEscaped()));
    return;
  }
  auto p = lw::api::preview_task(text, task.toStdString(), line.toStdString());
  if (!p.is_ok()) {
    m_preview->setText("<span style='color:#c33'>" +
                       QString::fromStdString(p.status().message()).toHtmlEscaped() + "</span>");
    return;
  }
  QString html = QString::fromStdString(p->text).toHtmlEscaped();
  html.replace(QRegularExpression(R"(((?:\[V[0-9]+\])+))"),
               "<span style='background:#fde3c0'>\\1</span>");
  m_preview->setText(html + QString(" <i>(%1 virtual tokens)</i>").arg(p->virtual_tokens));
}
