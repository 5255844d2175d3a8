// The Prompt-tune page (see prompt_tune_page.h): construction, the curves, Train/Stop and
// Try-it. The form (files, task editor, previews, method) is in prompt_tune_page_form.cpp.
#include "ui/prompt_tune/prompt_tune_page.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSplitter>
#include <QThread>
#include <QTimer>
#include <QVBoxLayout>

#include "widgets/metric_plot.h"

PromptTunePage::PromptTunePage(QWidget* parent) : QWidget(parent) {
  qRegisterMetaType<PromptTuneJob>("PromptTuneJob");
  qRegisterMetaType<TaskFields>("TaskFields");
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
          [this](bool ok, const QString& msg, const QStringList& tasks, const TaskFields& fields) {
            m_tableFields = fields;
            m_tryTask->clear();
            m_tryTask->addItems(tasks);
            rebuildTryFields();
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

QWidget* PromptTunePage::buildRight() {
  auto* w = new QWidget;
  m_plot = new MetricPlot;
  m_plot->setXLabel("step");
  m_plot->setEmptyText("Train to see the loss and exact-match accuracy");
  m_tryTask = new QComboBox;

  m_loadButton = new QPushButton("Load table");
  m_generateButton = new QPushButton("Generate");
  m_generateButton->setEnabled(false);
  m_output = new QLabel;
  m_output->setObjectName("tryItOutput");
  m_output->setWordWrap(true);
  auto* tryForm = new QFormLayout;
  tryForm->addRow("Task", m_tryTask);
  m_tryFields = new QFormLayout;
  auto* tryButtons = new QHBoxLayout;
  tryButtons->addWidget(m_loadButton);
  tryButtons->addWidget(m_generateButton);
  auto* v = new QVBoxLayout(w);
  v->addWidget(m_plot, 3);
  v->addWidget(new QLabel("Try it"));
  v->addLayout(tryForm);
  v->addLayout(m_tryFields);
  v->addLayout(tryButtons);
  v->addWidget(m_output);
  connect(m_tryTask, &QComboBox::currentTextChanged, this, &PromptTunePage::rebuildTryFields);
  connect(m_loadButton, &QPushButton::clicked, this, &PromptTunePage::loadTryIt);
  connect(m_generateButton, &QPushButton::clicked, this, &PromptTunePage::runTryIt);
  return w;
}

QString PromptTunePage::status() const { return m_status->text(); }
QString PromptTunePage::tryItOutput() const { return m_output->text(); }
void PromptTunePage::setTryItFields(const QString& json) {
  const QJsonObject o = QJsonDocument::fromJson(json.toUtf8()).object();
  for (auto it = o.begin(); it != o.end(); ++it) {
    m_tryValues[it.key()] = it.value().toVariant().toString();
    if (QLineEdit* e = m_tryEdits.value(it.key())) e->setText(m_tryValues[it.key()]);
  }
}

// The Try-it task's fields as line edits (the answer is what the model writes).
void PromptTunePage::rebuildTryFields() {
  while (m_tryFields->rowCount() > 0) m_tryFields->removeRow(0);
  m_tryEdits.clear();
  for (const QString& f : m_tableFields.value(m_tryTask->currentText())) {
    auto* e = new QLineEdit(m_tryValues.value(f));
    e->setObjectName("try_" + f);
    e->setPlaceholderText("{" + f + "}");
    connect(e, &QLineEdit::textEdited, this, [this, f](const QString& t) { m_tryValues[f] = t; });
    m_tryFields->addRow(f, e);
    m_tryEdits[f] = e;
  }
}
void PromptTunePage::setStatus(const QString& s) { m_status->setText(s); }

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
  emit workerTrain(job());
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
  QJsonObject fields;
  for (auto it = m_tryEdits.begin(); it != m_tryEdits.end(); ++it) fields[it.key()] = it.value()->text();
  emit workerGenerate(m_tryTask->currentText(), QString::fromUtf8(QJsonDocument(fields).toJson(QJsonDocument::Compact)), 8);
}
