// The page owns the worker thread. Training updates are coalesced: the worker appends to
// a LiveBuffer and a 10 Hz timer here drains it, so a fast CPU run of hundreds of steps
// per second never floods the event loop and the plot replots at most ten times a second.
#include "ui/finetune/finetune_page.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "ui/finetune/dataset_preview_view.h"
#include "ui/finetune/eval_report_view.h"
#include "ui/finetune/finetune_form.h"
#include "ui/finetune/try_it_box.h"
#include "widgets/metric_plot.h"

FinetunePage::FinetunePage(QWidget* parent) : QWidget(parent) {
  buildUi();
  m_worker = new FinetuneWorker(&m_live);
  m_worker->moveToThread(&m_thread);
  connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
  m_thread.setObjectName("finetune-worker");
  m_thread.start();

  connect(m_worker, &FinetuneWorker::previewReady, this, [this](int id, const lw::api::DatasetPreview& p) {
    if (id != m_previewId) return;  // a newer request is on its way
    m_preview->setPreview(p);
    if (!p.columns.empty()) {
      QStringList cols;
      for (const auto& c : p.columns) cols << QString::fromStdString(c);
      m_form->setColumns(cols);
    }
    emit previewShown(true);
  });
  connect(m_worker, &FinetuneWorker::previewFailed, this, [this](int id, const QString& error) {
    if (id != m_previewId) return;
    m_preview->setError(error);
    emit previewShown(false);
  });
  connect(m_worker, &FinetuneWorker::trainingFinished, this, &FinetunePage::onFinished);
  connect(m_worker, &FinetuneWorker::trainingFailed, this, &FinetunePage::onFailed);
  connect(m_worker, &FinetuneWorker::predictorLoaded, this, [this](const QString& dir, const QString& task) {
    m_tryIt->setModel(dir, task);
    emit modelLoaded(true);
  });
  connect(m_worker, &FinetuneWorker::predictorFailed, this, [this](const QString& error) {
    m_tryIt->setModel({}, {});
    m_tryIt->showError(error);
    emit modelLoaded(false);
  });
  connect(m_worker, &FinetuneWorker::predicted, this, [this](const QString& text, const lw::api::Prediction& p) {
    m_tryIt->showPrediction(text, p);
    emit predictionShown(true);
  });
  connect(m_worker, &FinetuneWorker::predictFailed, this, [this](const QString& error) {
    m_tryIt->showError(error);
    emit predictionShown(false);
  });
  connect(m_tryIt, &TryItBox::predictRequested, this, [this](const QString& text) {
    QMetaObject::invokeMethod(m_worker, [w = m_worker, text] { w->predict(text); }, Qt::QueuedConnection);
  });
  connect(m_tryIt, &TryItBox::loadRequested, this, &FinetunePage::loadTryItModel);
  setProject({});
}

FinetunePage::~FinetunePage() {
  m_worker->requestStop();
  m_thread.quit();
  m_thread.wait();
}

void FinetunePage::buildUi() {
  auto* split = new QSplitter(Qt::Horizontal, this);
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(split);

  auto* left = new QWidget;
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  m_form = new FinetuneForm;
  auto* scroll = new QScrollArea;
  scroll->setWidget(m_form);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setMinimumWidth(m_form->sizeHint().width() + 24);
  auto* buttons = new QHBoxLayout;
  m_train = new QPushButton(tr("Train"));
  m_train->setDefault(true);
  m_stop = new QPushButton(tr("Stop"));
  m_resume = new QPushButton(tr("Resume"));
  m_resume->setToolTip(tr("Continue the newest stopped or interrupted run from its last checkpoint"));
  buttons->addWidget(m_train, 2);
  buttons->addWidget(m_stop, 1);
  buttons->addWidget(m_resume, 1);
  m_status = new QLabel;
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  leftLayout->addWidget(scroll, 1);
  leftLayout->addLayout(buttons);
  leftLayout->addWidget(m_status);

  m_tabs = new QTabWidget;
  m_preview = new DatasetPreviewView;
  m_report = new EvalReportView;
  m_tryIt = new TryItBox;
  m_tabs->addTab(m_preview, tr("Data"));
  m_tabs->addTab(buildTrainingTab(), tr("Training"));
  m_tabs->addTab(m_report, tr("Report"));
  m_tabs->addTab(m_tryIt, tr("Try it"));
  split->addWidget(left);
  split->addWidget(m_tabs);
  split->setStretchFactor(0, 0);
  split->setStretchFactor(1, 1);

  m_previewTimer = new QTimer(this);
  m_previewTimer->setSingleShot(true);
  m_previewTimer->setInterval(250);
  connect(m_previewTimer, &QTimer::timeout, this, &FinetunePage::requestPreview);
  m_liveTimer = new QTimer(this);
  m_liveTimer->setInterval(100);
  connect(m_liveTimer, &QTimer::timeout, this, &FinetunePage::drainLive);
  connect(m_form, &FinetuneForm::dataChanged, this, &FinetunePage::schedulePreview);
  connect(m_train, &QPushButton::clicked, this, &FinetunePage::startTraining);
  connect(m_stop, &QPushButton::clicked, this, &FinetunePage::stopTraining);
  connect(m_resume, &QPushButton::clicked, this, [this] { resumeTraining(0); });
}

QWidget* FinetunePage::buildTrainingTab() {
  auto* w = new QWidget;
  auto* layout = new QVBoxLayout(w);
  m_progress = new QProgressBar;
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  m_progress->setTextVisible(true);
  m_progressLabel = new QLabel(tr("Not started."));
  m_progressLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_plot = new MetricPlot;
  m_plot->setEmptyText(tr("Loss, learning rate and validation curves appear here while training."));
  m_evalTable = new QTableWidget;
  m_evalTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_evalTable->verticalHeader()->setVisible(false);
  m_log = new QPlainTextEdit;
  m_log->setReadOnly(true);
  m_log->setMaximumBlockCount(2000);
  auto* bottom = new QSplitter(Qt::Horizontal);
  bottom->addWidget(m_evalTable);
  bottom->addWidget(m_log);
  bottom->setStretchFactor(0, 3);
  bottom->setStretchFactor(1, 2);
  auto* vsplit = new QSplitter(Qt::Vertical);
  vsplit->addWidget(m_plot);
  vsplit->addWidget(bottom);
  vsplit->setStretchFactor(0, 3);
  vsplit->setStretchFactor(1, 1);
  layout->addWidget(m_progress);
  layout->addWidget(m_progressLabel);
  layout->addWidget(vsplit, 1);
  return w;
}

void FinetunePage::setProject(const QString& dir) {
  m_dir = dir;
  m_form->setProjectDir(dir);
  if (dir.isEmpty()) setStatus(tr("Open a project to record runs (File > Open project)."));
  else setStatus(tr("Runs are recorded in %1.").arg(dir));
  updateButtons();
}

QString FinetunePage::statusText() const { return m_status->text(); }
QString FinetunePage::progressText() const { return m_progressLabel->text(); }

void FinetunePage::setStatus(const QString& text, bool error) {
  m_status->setText(text);
  m_status->setStyleSheet(error ? "color: #c0392b;" : "");
}

void FinetunePage::updateButtons() {
  m_train->setEnabled(!m_training && !m_dir.isEmpty());
  m_resume->setEnabled(!m_training && !m_dir.isEmpty());
  m_stop->setEnabled(m_training);
  m_form->setEnabled(!m_training);
}

void FinetunePage::schedulePreview() { m_previewTimer->start(); }

void FinetunePage::requestPreview() {
  const QString file = m_form->trainFile();
  ++m_previewId;
  if (file.isEmpty()) {
    m_preview->setPlaceholder(tr("Choose a training file to see its first rows, labels and lengths."));
    return;
  }
  const lw::api::FinetuneConfig c = m_form->config();
  PreviewRequest r{c.task, file, c.classify, c.ner, m_form->tokenizerDir(), c.max_len};
  m_preview->setPlaceholder(tr("Reading %1 …").arg(file));
  QMetaObject::invokeMethod(m_worker, [w = m_worker, id = m_previewId, r] { w->preview(id, r); }, Qt::QueuedConnection);
}
