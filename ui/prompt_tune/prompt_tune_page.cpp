// The Prompt-tune page (see prompt_tune_page.h). The preview is computed on the GUI thread
// because it only parses the tasks JSON and one example line (engine/api preview_task, no
// model); everything that touches a model goes through the worker.
#include "ui/prompt_tune/prompt_tune_page.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QSplitter>
#include <QSyntaxHighlighter>
#include <QTextStream>
#include <QThread>
#include <QTimer>
#include <QVBoxLayout>

#include "ui/prompt_tune/prompt_tune_worker.h"
#include "widgets/metric_plot.h"

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

QString firstLines(const QString& path, int n) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) return {};
  QTextStream in(&f);
  QStringList lines;
  while (!in.atEnd() && lines.size() < n) {
    QString l = in.readLine();
    if (!l.trimmed().isEmpty()) lines << l;
  }
  return lines.join('\n');
}

const char* kDefaultTasks = R"({
  "taskname": "sentiment",
  "prompt_template": "<|VIRTUAL_PROMPT_0|> {sentence} sentiment: {label}",
  "total_virtual_tokens": 10,
  "truncate_field": "sentence",
  "answer_only_loss": true,
  "answer_field": "label"
})";

}  // namespace

PromptTunePage::PromptTunePage(QWidget* parent) : QWidget(parent) {
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(buildForm());
  split->addWidget(buildRight());
  auto* lay = new QHBoxLayout(this);
  lay->addWidget(split);

  m_thread = new QThread(this);
  m_worker = new PromptTuneWorker;
  m_worker->moveToThread(m_thread);
  connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
  connect(this, &PromptTunePage::workerTrain, m_worker, &PromptTuneWorker::train);
  connect(this, &PromptTunePage::workerLoadTryIt, m_worker, &PromptTuneWorker::loadTryIt);
  connect(this, &PromptTunePage::workerGenerate, m_worker, &PromptTuneWorker::generate);
  connect(m_worker, &PromptTuneWorker::trainFinished, this,
          [this](bool ok, const QString& msg, double before, double after) {
            drainProgress();
            m_training = false;
            m_trainButton->setEnabled(true);
            m_stopButton->setEnabled(false);
            setStatus(ok ? msg + QString(" | exact match %1 -> %2").arg(before, 0, 'f', 3).arg(after, 0, 'f', 3)
                         : "Error: " + msg);
            if (ok) loadTryIt();
            emit trainingFinished(ok);
          });
  connect(m_worker, &PromptTuneWorker::tryItLoaded, this,
          [this](bool ok, const QString& msg, const QStringList& tasks) {
            m_tryTask->clear();
            m_tryTask->addItems(tasks);
            m_generateButton->setEnabled(ok);
            if (!ok) setStatus("Try-it: " + msg);
            emit tryItReady(ok);
          });
  connect(m_worker, &PromptTuneWorker::generated, this, [this](bool ok, const QString& text) {
    m_output->setText(ok ? text : "Error: " + text);
    m_generateButton->setEnabled(true);
    emit generatedText(text);
  });
  m_thread->start();
  m_drain = new QTimer(this);
  m_drain->setInterval(33);  // ~30 Hz coalesced curve updates
  connect(m_drain, &QTimer::timeout, this, &PromptTunePage::drainProgress);
  updatePreview();
}

PromptTunePage::~PromptTunePage() {
  m_worker->requestStop();
  m_thread->quit();
  m_thread->wait();
}

QWidget* PromptTunePage::buildForm() {
  auto* w = new QWidget;
  auto* form = new QFormLayout;
  m_model = new QLineEdit;
  m_train = new QLineEdit;
  m_dev = new QLineEdit;
  m_out = new QLineEdit;
  m_method = new QComboBox;
  m_method->addItems({"prompt-tuning", "p-tuning"});
  m_encoder = new QComboBox;
  m_encoder->addItems({"mlp", "lstm"});
  m_encoder->setEnabled(false);
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
  form->addRow("Base model", m_model);
  form->addRow("Train JSONL", m_train);
  form->addRow("Dev JSONL", m_dev);
  form->addRow("Prompt table", m_out);
  form->addRow("Method", m_method);
  form->addRow("Encoder", m_encoder);
  form->addRow("Epochs", m_epochs);
  form->addRow("Learning rate", m_lr);
  form->addRow("Batch", m_batch);
  m_tasks = new QPlainTextEdit(QString::fromUtf8(kDefaultTasks));
  m_tasks->setObjectName("tasksEditor");
  new TaskHighlighter(m_tasks->document());
  m_preview = new QLabel;
  m_preview->setObjectName("taskPreview");
  m_preview->setWordWrap(true);
  m_preview->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_dataPreview = new QPlainTextEdit;
  m_dataPreview->setReadOnly(true);
  m_dataPreview->setMaximumHeight(90);
  m_trainButton = new QPushButton("Train");
  m_stopButton = new QPushButton("Stop");
  m_stopButton->setEnabled(false);
  m_status = new QLabel;
  m_status->setWordWrap(true);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(m_trainButton);
  buttons->addWidget(m_stopButton);
  auto* v = new QVBoxLayout(w);
  v->addLayout(form);
  v->addWidget(new QLabel("Tasks (JSON: template with <|VIRTUAL_PROMPT_n|> markers and {fields})"));
  v->addWidget(m_tasks, 2);
  v->addWidget(new QLabel("Preview of the first training example"));
  v->addWidget(m_preview);
  v->addWidget(new QLabel("Data"));
  v->addWidget(m_dataPreview);
  v->addLayout(buttons);
  v->addWidget(m_status);
  connect(m_tasks, &QPlainTextEdit::textChanged, this, &PromptTunePage::updatePreview);
  connect(m_train, &QLineEdit::textChanged, this, &PromptTunePage::updatePreview);
  connect(m_method, &QComboBox::currentTextChanged, this,
          [this](const QString& m) { m_encoder->setEnabled(m == "p-tuning"); });
  connect(m_trainButton, &QPushButton::clicked, this, &PromptTunePage::startTraining);
  connect(m_stopButton, &QPushButton::clicked, this, &PromptTunePage::stopTraining);
  return w;
}

QWidget* PromptTunePage::buildRight() {
  auto* w = new QWidget;
  m_plot = new MetricPlot;
  m_plot->setXLabel("step");
  m_plot->setEmptyText("Train to see the loss and exact-match accuracy");
  m_tryTask = new QComboBox;
  m_fields = new QLineEdit(R"({"sentence": "great phone, works well"})");
  m_loadButton = new QPushButton("Load table");
  m_generateButton = new QPushButton("Generate");
  m_generateButton->setEnabled(false);
  m_output = new QLabel;
  m_output->setObjectName("tryItOutput");
  m_output->setWordWrap(true);
  auto* tryForm = new QFormLayout;
  tryForm->addRow("Task", m_tryTask);
  tryForm->addRow("Fields", m_fields);
  auto* tryButtons = new QHBoxLayout;
  tryButtons->addWidget(m_loadButton);
  tryButtons->addWidget(m_generateButton);
  auto* v = new QVBoxLayout(w);
  v->addWidget(m_plot, 3);
  v->addWidget(new QLabel("Try it"));
  v->addLayout(tryForm);
  v->addLayout(tryButtons);
  v->addWidget(m_output);
  connect(m_loadButton, &QPushButton::clicked, this, &PromptTunePage::loadTryIt);
  connect(m_generateButton, &QPushButton::clicked, this, &PromptTunePage::runTryIt);
  return w;
}

void PromptTunePage::setProject(const QString& dir) {
  m_project = dir;
  if (m_out->text().isEmpty()) m_out->setText(QDir(dir).filePath("prompt_table.safetensors"));
}
void PromptTunePage::setModelDir(const QString& dir) { m_model->setText(dir); }
void PromptTunePage::setTrainFile(const QString& path) { m_train->setText(path); }
void PromptTunePage::setDevFile(const QString& path) { m_dev->setText(path); }
void PromptTunePage::setTasksJson(const QString& json) { m_tasks->setPlainText(json); }
QString PromptTunePage::preview() const { return m_preview->text(); }
QString PromptTunePage::status() const { return m_status->text(); }
QString PromptTunePage::tryItOutput() const { return m_output->text(); }
void PromptTunePage::setTryItFields(const QString& json) { m_fields->setText(json); }

void PromptTunePage::setStatus(const QString& s) { m_status->setText(s); }

void PromptTunePage::updatePreview() {
  const QString data = firstLines(m_train->text(), 3);
  m_dataPreview->setPlainText(data.isEmpty() ? "(no training file yet)" : data);
  const QString first = data.section('\n', 0, 0);
  auto p = lw::api::preview_task(m_tasks->toPlainText().toStdString(), "",
                                 first.isEmpty() ? "{}" : first.toStdString());
  if (!p.is_ok()) {
    m_preview->setText("<span style='color:#c33'>" + QString::fromStdString(p.status().message()).toHtmlEscaped() + "</span>");
    return;
  }
  QString text = QString::fromStdString(p->text).toHtmlEscaped();
  text.replace(QRegularExpression(R"(((?:\[V[0-9]+\])+))"), "<span style='background:#fde3c0'>\\1</span>");
  m_preview->setText(text + QString(" <i>(%1 virtual tokens)</i>").arg(p->virtual_tokens));
}

void PromptTunePage::startTraining() {
  if (m_training) return;
  if (m_project.isEmpty()) {
    setStatus("Open a project first: runs are recorded in its store");
    return;
  }
  m_training = true;
  m_steps.clear(), m_losses.clear(), m_evalSteps.clear(), m_evalAcc.clear();
  m_trainButton->setEnabled(false);
  m_stopButton->setEnabled(true);
  setStatus("Training...");
  m_drain->start();
  emit workerTrain(m_model->text(), m_tasks->toPlainText(), m_train->text(), m_dev->text(), m_project,
                   m_out->text(), m_method->currentText(), m_encoder->currentText(), m_epochs->value(),
                   m_lr->value(), m_batch->value());
}

void PromptTunePage::stopTraining() {
  m_worker->requestStop();
  setStatus("Stopping after this step...");
}

void PromptTunePage::drainProgress() {
  const auto points = m_worker->takePoints();
  if (points.isEmpty()) {
    if (!m_training) m_drain->stop();
    return;
  }
  for (const auto& p : points) {
    if (p.eval) {
      m_evalSteps << double(p.step);
      m_evalAcc << p.valAccuracy;
    } else {
      m_steps << double(p.step);
      m_losses << p.loss;
    }
  }
  QList<PlotSeries> series = {{"train", "train/loss", m_steps, m_losses, QColor()}};
  if (!m_evalSteps.isEmpty()) series.push_back({"dev", "eval/accuracy", m_evalSteps, m_evalAcc, QColor()});
  m_plot->setSeries(series);
}

void PromptTunePage::loadTryIt() {
  m_generateButton->setEnabled(false);
  emit workerLoadTryIt(m_model->text(), m_out->text());
}

void PromptTunePage::runTryIt() {
  m_generateButton->setEnabled(false);
  m_output->setText("...");
  emit workerGenerate(m_tryTask->currentText(), m_fields->text(), 8);
}
