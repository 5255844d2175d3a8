// PlaygroundPage: construction, layout and the model side (load, mode, summary). The run
// side (generate, stream, stop, continue from an alternative) is in playground_page_run.cpp.
#include "ui/playground/playground_page.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QTabWidget>
#include <QThread>
#include <QTimer>
#include <QVBoxLayout>

#include "ui/playground/fill_mask_view.h"
#include "ui/playground/model_picker.h"
#include "ui/playground/prompt_table_panel.h"
#include "ui/playground/sampling_panel.h"
#include "widgets/token_view.h"

namespace {
QString bytes(qint64 n) { return QLocale::system().formattedDataSize(n, 1, QLocale::DataSizeTraditionalFormat); }

QString count(qint64 n) {
  if (n >= 1000000000) return QString::number(n / 1e9, 'f', 2) + " B";
  if (n >= 1000000) return QString::number(n / 1e6, 'f', 1) + " M";
  if (n >= 1000) return QString::number(n / 1e3, 'f', 1) + " k";
  return QString::number(n);
}
}  // namespace

PlaygroundPage::PlaygroundPage(QWidget* parent) : QWidget(parent) {
  PlaygroundWorker::registerTypes();
  auto* splitter = new QSplitter(Qt::Horizontal);
  splitter->addWidget(buildControls());
  splitter->addWidget(buildOutput());
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setChildrenCollapsible(false);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 8);
  layout->addWidget(splitter);

  m_flushTimer = new QTimer(this);
  m_flushTimer->setSingleShot(true);
  m_flushTimer->setInterval(16);  // one UI frame: tokens that arrive faster are batched
  connect(m_flushTimer, &QTimer::timeout, this, &PlaygroundPage::flushTokens);

  m_thread = new QThread(this);
  m_thread->setObjectName("playground-worker");
  m_worker = new PlaygroundWorker;
  m_worker->moveToThread(m_thread);
  connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
  connect(m_worker, &PlaygroundWorker::devicesFound, m_picker, &ModelPicker::setDevices);
  connect(m_worker, &PlaygroundWorker::modelLoaded, this, &PlaygroundPage::onModelLoaded);
  connect(m_worker, &PlaygroundWorker::loadFailed, this, &PlaygroundPage::onLoadFailed);
  connect(m_worker, &PlaygroundWorker::generationStarted, this, &PlaygroundPage::onStarted);
  connect(m_worker, &PlaygroundWorker::tokenGenerated, this, &PlaygroundPage::onToken);
  connect(m_worker, &PlaygroundWorker::generationFinished, this, &PlaygroundPage::onFinished);
  connect(m_worker, &PlaygroundWorker::generationFailed, this, &PlaygroundPage::onFailed);
  connect(m_worker, &PlaygroundWorker::fillMaskDone, this, [this](quint64 run, const MaskResults& r) {
    if (run != m_runId) return;
    m_fillMask->setResults(r);
    m_runId = 0;
    setBusy(false);
    m_metrics->setText(tr("%n mask(s) filled", nullptr, int(r.size())));
    emit fillMaskFinished(int(r.size()));
  });
  connect(m_worker, &PlaygroundWorker::fillMaskFailed, this, &PlaygroundPage::onFailed);
  connect(m_worker, &PlaygroundWorker::tableLoaded, m_table, &PromptTablePanel::setTasks);
  connect(m_worker, &PlaygroundWorker::tableFailed, this, [this](const QString& path, const QString& error) {
    m_table->setLoadError(path, error);
    showError(tr("Prompt table %1: %2").arg(path, error));
  });
  connect(m_table, &PromptTablePanel::loadRequested, this, &PlaygroundPage::requestTableLoad);
  auto tableChanged = [this] {
    applyMode();
    setBusy(isGenerating());
  };
  connect(m_table, &PromptTablePanel::activeChanged, this, tableChanged);
  connect(m_table, &QGroupBox::toggled, this, tableChanged);
  connect(m_table->taskCombo(), &QComboBox::currentTextChanged, this, tableChanged);
  m_thread->start();
  QMetaObject::invokeMethod(m_worker, &PlaygroundWorker::probeDevices, Qt::QueuedConnection);
  applyMode();
  setBusy(false);
}

PlaygroundPage::~PlaygroundPage() {
  if (m_cancel) m_cancel->store(true);
  m_thread->quit();
  m_thread->wait();
}

QWidget* PlaygroundPage::buildControls() {
  auto* panel = new QWidget;
  auto* v = new QVBoxLayout(panel);
  v->setContentsMargins(0, 0, 6, 0);
  auto* modelBox = new QGroupBox(tr("Model"));
  auto* mv = new QVBoxLayout(modelBox);
  m_picker = new ModelPicker;
  mv->addWidget(m_picker);
  connect(m_picker, &ModelPicker::loadRequested, this, [this](const QString& dir) { loadModel(dir); });
  v->addWidget(modelBox);
  m_table = new PromptTablePanel;
  v->addWidget(m_table);
  m_samplingBox = new QGroupBox(tr("Sampling"));
  auto* sv = new QVBoxLayout(m_samplingBox);
  m_sampling = new SamplingPanel;
  sv->addWidget(m_sampling);
  v->addWidget(m_samplingBox);
  m_fillBox = new QGroupBox(tr("Fill-mask"));
  auto* fv = new QHBoxLayout(m_fillBox);
  fv->addWidget(new QLabel(tr("Candidates per mask")));
  m_fillTopK = new QSpinBox;
  m_fillTopK->setRange(1, 100);
  m_fillTopK->setValue(5);
  fv->addWidget(m_fillTopK);
  v->addWidget(m_fillBox);
  v->addStretch(1);
  auto* scroll = new QScrollArea;
  scroll->setWidget(panel);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(panel->sizeHint().width() + 16);
  return scroll;
}

QWidget* PlaygroundPage::buildOutput() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  v->setContentsMargins(6, 0, 0, 0);
  m_promptLabel = new QLabel(tr("<b>Prompt</b>"));
  v->addWidget(m_promptLabel);
  m_prompt = new QPlainTextEdit;
  m_prompt->setObjectName("promptEdit");
  m_prompt->setMinimumHeight(70);
  m_prompt->setMaximumHeight(140);
  m_promptStack = new QStackedWidget;  // the free prompt, or the prompt table's fields
  m_promptStack->addWidget(m_prompt);
  m_promptStack->addWidget(m_table->fieldsWidget());
  m_promptStack->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
  v->addWidget(m_promptStack);
  auto* row = new QHBoxLayout;
  m_generate = new QPushButton(tr("Generate"));
  m_generate->setObjectName("generateButton");
  m_generate->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
  m_generate->setToolTip(tr("Generate (Ctrl+Enter)"));
  m_stop = new QPushButton(tr("Stop"));
  m_attention = new QPushButton(tr("Attention"));
  m_attention->setToolTip(tr("Open the prompt and the generated text in the Attention page"));
  auto* open = new QPushButton(tr("Open prompt…"));
  m_metrics = new QLabel;
  m_metrics->setObjectName("metricsLabel");
  m_metrics->setTextInteractionFlags(Qt::TextSelectableByMouse);
  row->addWidget(m_generate);
  row->addWidget(m_stop);
  row->addSpacing(12);
  row->addWidget(m_attention);
  row->addWidget(open);
  row->addStretch(1);
  row->addWidget(m_metrics);
  v->addLayout(row);
  m_error = new QLabel;
  m_error->setObjectName("errorLabel");
  m_error->setWordWrap(true);
  m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error->setStyleSheet("QLabel { background: #fdecea; color: #8a1c14; border: 1px solid #f5c2bd;"
                         " border-radius: 4px; padding: 6px; }");
  m_error->hide();
  v->addWidget(m_error);
  m_tabs = new QTabWidget;
  m_tokens = new TokenView;
  m_output = new QPlainTextEdit;
  m_output->setReadOnly(true);
  m_tabs->addTab(m_tokens, tr("Tokens"));
  m_tabs->addTab(m_output, tr("Text"));
  m_fillMask = new FillMaskView;
  m_outputStack = new QStackedWidget;
  m_outputStack->addWidget(m_tabs);
  m_outputStack->addWidget(m_fillMask);
  v->addWidget(m_outputStack, 1);
  connect(m_generate, &QPushButton::clicked, this, &PlaygroundPage::generate);
  connect(m_stop, &QPushButton::clicked, this, &PlaygroundPage::stop);
  connect(m_attention, &QPushButton::clicked, this, &PlaygroundPage::requestAttention);
  connect(open, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Prompt file"), m_projectDir);
    if (!f.isEmpty()) loadPromptFile(f);
  });
  connect(m_tokens, &TokenView::alternativeChosen, this, &PlaygroundPage::chooseAlternative);
  return w;
}

void PlaygroundPage::setProject(const QString& dir) {
  m_projectDir = dir;
  const QString models = QDir(dir).filePath("models");
  if (m_picker->folder().isEmpty() && QDir(models).exists()) m_picker->setFolder(models + "/");
}

void PlaygroundPage::loadModel(const QString& dir) {
  clearError();
  if (dir.trimmed().isEmpty()) return showError(tr("Choose a model folder first."));
  if (isGenerating()) stop();
  m_picker->setFolder(dir);
  m_table->forgetTable();  // the worker drops it with the old model; reloaded once this one is in
  m_loading = true;
  m_picker->setBusy(true);
  setBusy(false);
  m_picker->setSummary(tr("Loading %1 …").arg(dir.toHtmlEscaped()));
  QMetaObject::invokeMethod(m_worker, [w = m_worker, dir, dev = m_picker->device(),
                                       dt = m_picker->dtype()] { w->load(dir, dev, dt); },
                            Qt::QueuedConnection);
}

void PlaygroundPage::onModelLoaded(const PlaygroundModelInfo& info) {
  m_loading = false;
  m_picker->setBusy(false);
  m_info = info;
  m_picker->addRecent(info.dir);
  QString html = QString("<b>%1</b> · %2 parameters · %3 · %4<br>")
                     .arg(info.architecture.toHtmlEscaped(), count(info.parameters), info.dtype,
                          info.device);
  html += tr("weights %1").arg(bytes(info.weightBytes));
  if (info.kvCacheBytes > 0)
    html += tr(" · KV cache %1 per sequence (%2 positions)").arg(bytes(info.kvCacheBytes)).arg(info.maxPositions);
  html += "<br>" + (info.hasTokenizer ? tr("tokenizer: %1").arg(info.tokenizer.toHtmlEscaped())
                                      : tr("<span style='color:#b3261e'>no tokenizer: %1</span>")
                                            .arg(info.tokenizer.toHtmlEscaped()));
  m_picker->setSummary(html);
  m_mode = info.maskedLm ? Mode::FillMask : Mode::Generate;
  applyMode();
  setBusy(false);
  if (m_mode == Mode::Generate && m_table->isChecked() && !m_table->path().isEmpty())
    m_table->setPath(m_table->path());  // the table again, checked against this model
  if (!info.causalLm && !info.maskedLm)
    showError(tr("%1 has neither a causal-LM nor a masked-LM head: it cannot generate text or fill "
                 "masks here.").arg(info.architecture));
  emit modelLoaded(info.dir);
}

void PlaygroundPage::onLoadFailed(const QString& dir, const QString& error) {
  m_loading = false;
  m_picker->setBusy(false);
  m_info = PlaygroundModelInfo{};
  m_picker->setSummary(tr("No model loaded."));
  setBusy(false);
  showError(tr("Cannot load %1: %2").arg(dir, error));
}

void PlaygroundPage::requestTableLoad(const QString& path) {
  if (!hasModel() || m_loading) {
    m_table->setLoadError(path, tr("Load a model first: a prompt table is checked against it."));
    return;
  }
  clearError();
  QMetaObject::invokeMethod(m_worker, [w = m_worker, path] { w->loadTable(path); }, Qt::QueuedConnection);
}

void PlaygroundPage::applyMode() {
  const bool fill = m_mode == Mode::FillMask;
  const bool table = !fill && m_table->isChecked();  // its fields, or why there are none
  m_table->setVisible(!fill);
  m_promptStack->setCurrentIndex(table ? 1 : 0);
  m_promptLabel->setText(!table ? tr("<b>Prompt</b>")
                         : m_table->isActive() ? tr("<b>Prompt</b> · task <b>%1</b> of the prompt table")
                                                     .arg(m_table->currentTask().toHtmlEscaped())
                                               : tr("<b>Prompt</b> · prompt table (none loaded)"));
  m_samplingBox->setVisible(!fill);
  m_fillBox->setVisible(fill);
  m_outputStack->setCurrentIndex(fill ? 1 : 0);
  m_generate->setText(fill ? tr("Fill mask") : tr("Generate"));
  m_stop->setVisible(!fill);  // fill-mask is one forward: nothing to stop
  m_prompt->setPlaceholderText(fill ? tr("Text with one or more [MASK] tokens, e.g. "
                                         "“The capital of France is [MASK].”")
                                    : tr("Write a prompt, then Generate (Ctrl+Enter)."));
}

void PlaygroundPage::showError(const QString& message) {
  m_error->setText(message);
  m_error->show();
  emit errorShown(message);
}

void PlaygroundPage::clearError() {
  m_error->clear();
  m_error->hide();
}

QString PlaygroundPage::errorText() const { return m_error->isHidden() ? QString() : m_error->text(); }

void PlaygroundPage::setBusy(bool busy) {
  const bool usable = hasModel() && !m_loading && (m_info.causalLm || m_info.maskedLm);
  m_generate->setEnabled(!busy && usable);
  m_stop->setEnabled(busy && m_mode == Mode::Generate);
  // The Attention page runs on text: it cannot show a prompt table's virtual tokens.
  const bool table = m_mode == Mode::Generate && m_table->isChecked();
  m_attention->setEnabled(hasModel() && !m_loading && !table);
  m_attention->setToolTip(table ? tr("The Attention page runs on text; it cannot show the virtual "
                                     "tokens of a prompt table. Turn the table off to use it.")
                                : tr("Open the prompt and the generated text in the Attention page"));
}
