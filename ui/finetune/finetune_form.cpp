// The form is plain widgets in group boxes; config() and applyConfig() are the only
// bridge to the engine's FinetuneConfig, so the page, presets and tests share one path.
#include "ui/finetune/finetune_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QDoubleValidator>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QRadioButton>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include "engine/api/system_info.h"
#include "widgets/column_spin_box.h"

namespace {

QSpinBox* spin(int lo, int hi, int value, const QString& tip = {}) {
  auto* s = new QSpinBox;
  s->setRange(lo, hi);
  s->setValue(value);
  s->setToolTip(tip);
  return s;
}

QDoubleSpinBox* dspin(double lo, double hi, double step, int decimals, double value, const QString& tip = {}) {
  auto* s = new QDoubleSpinBox;
  s->setRange(lo, hi);
  s->setSingleStep(step);
  s->setDecimals(decimals);
  s->setValue(value);
  s->setToolTip(tip);
  return s;
}

QComboBox* columnCombo(const QString& value, const QString& tip) {
  auto* c = new QComboBox;
  c->setEditable(true);
  c->setInsertPolicy(QComboBox::NoInsert);
  c->setEditText(value);
  c->setToolTip(tip);
  return c;
}

std::string columnText(const QComboBox* c) { return c->currentText().trimmed().toStdString(); }

}  // namespace

FinetuneForm::FinetuneForm(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* top = new QFormLayout;
  m_preset = new QComboBox;
  m_presetLabel = new QLabel(tr("Preset"));
  top->addRow(m_presetLabel, m_preset);
  m_task = new QComboBox;
  m_task->addItem(tr("Text classification"), int(lw::api::FinetuneTask::kClassify));
  m_task->addItem(tr("Named-entity recognition"), int(lw::api::FinetuneTask::kNer));
  m_task->setObjectName("task");
  top->addRow(tr("Task"), m_task);
  layout->addLayout(top);
  layout->addWidget(buildModelBox());
  layout->addWidget(buildDataBox());
  layout->addWidget(buildTrainingBox());
  layout->addStretch(1);
  m_preset->setVisible(false);
  m_presetLabel->setVisible(false);
  connect(m_preset, &QComboBox::activated, this, [this](int i) { if (i > 0) applyPreset(m_preset->itemText(i)); });
  connect(m_task, &QComboBox::currentIndexChanged, this, [this] {
    updateTaskWidgets();
    emit taskChanged(task());
    emit dataChanged();
  });
  updateTaskWidgets();
  updateModelWidgets();
}

QLineEdit* FinetuneForm::pathEdit(const QString& placeholder, bool folder, QWidget** row) {
  auto* w = new QWidget;
  auto* h = new QHBoxLayout(w);
  h->setContentsMargins(0, 0, 0, 0);
  auto* edit = new QLineEdit;
  edit->setPlaceholderText(placeholder);
  edit->setClearButtonEnabled(true);
  auto* browse = new QToolButton;
  browse->setText(QStringLiteral("…"));
  browse->setToolTip(folder ? tr("Choose a folder") : tr("Choose a file"));
  h->addWidget(edit, 1);
  h->addWidget(browse);
  connect(browse, &QToolButton::clicked, this, [this, edit, folder] {
    const QString start = edit->text().isEmpty() ? m_projectDir : QFileInfo(edit->text()).absolutePath();
    const QString chosen = folder ? QFileDialog::getExistingDirectory(this, tr("Choose a folder"), start)
                                  : QFileDialog::getOpenFileName(this, tr("Choose a data file"), start,
                                        tr("Data files (*.tsv *.csv *.jsonl *.json *.txt *.conll *.iob *.bio);;All files (*)"));
    if (!chosen.isEmpty()) {
      edit->setText(chosen);
      emit edit->editingFinished();
    }
  });
  if (row) *row = w;
  return edit;
}

QWidget* FinetuneForm::buildModelBox() {
  auto* box = new QGroupBox(tr("Model"));
  auto* form = new QFormLayout(box);
  m_pretrained = new QRadioButton(tr("Pretrained folder"));
  m_random = new QRadioButton(tr("Random init"));
  m_random->setChecked(true);
  auto* radios = new QHBoxLayout;
  radios->addWidget(m_pretrained);
  radios->addWidget(m_random);
  radios->addStretch(1);
  form->addRow(radios);
  m_modelDir = pathEdit(tr("Hugging Face BERT folder (config.json, model.safetensors, vocab)"), true, &m_modelRow);
  form->addRow(tr("Folder"), m_modelRow);
  m_vocabDir = pathEdit(tr("folder with vocab.txt or tokenizer.json"), true, &m_vocabRow);
  form->addRow(tr("Vocabulary"), m_vocabRow);
  m_randomShape = new QWidget;
  auto* shape = new QHBoxLayout(m_randomShape);
  shape->setContentsMargins(0, 0, 0, 0);
  lw::api::RandomInitConfig defaults;
  m_layers = spin(1, 48, int(defaults.n_layer), tr("Transformer layers"));
  m_hidden = spin(64, 4096, int(defaults.hidden), tr("Hidden size (heads = hidden / 64, FFN = 4 × hidden)"));
  m_hidden->setSingleStep(64);
  shape->addWidget(new QLabel(tr("layers")));
  shape->addWidget(m_layers);
  shape->addWidget(new QLabel(tr("hidden")));
  shape->addWidget(m_hidden);
  shape->addStretch(1);
  form->addRow(tr("Shape"), m_randomShape);
  connect(m_pretrained, &QRadioButton::toggled, this, [this] { updateModelWidgets(); emit dataChanged(); });
  connect(m_modelDir, &QLineEdit::editingFinished, this, &FinetuneForm::dataChanged);
  connect(m_vocabDir, &QLineEdit::editingFinished, this, &FinetuneForm::dataChanged);
  return box;
}

QWidget* FinetuneForm::buildDataBox() {
  auto* box = new QGroupBox(tr("Data"));
  m_dataForm = new QFormLayout(box);
  QWidget* row = nullptr;
  m_train = pathEdit(tr("training file (.tsv, .csv, .jsonl / .conll)"), false, &row);
  m_dataForm->addRow(tr("Train"), row);
  m_valid = pathEdit(tr("optional: else split off the training file"), false, &row);
  m_dataForm->addRow(tr("Validation"), row);
  m_test = pathEdit(tr("optional"), false, &row);
  m_dataForm->addRow(tr("Test"), row);
  m_validFraction = dspin(0.01, 0.5, 0.05, 2, 0.1, tr("Share of the training file held out when no validation file is given (seeded)"));
  m_dataForm->addRow(tr("Held out"), m_validFraction);
  m_textCol = columnCombo("text", tr("Text column: a header name or a 0-based index"));
  m_pairCol = columnCombo("", tr("Optional second text (sentence pairs)"));
  m_pairCol->lineEdit()->setPlaceholderText(tr("none"));
  m_labelCol = columnCombo("label", tr("Label column: a header name or a 0-based index"));
  m_dataForm->addRow(tr("Text column"), m_textCol);
  m_dataForm->addRow(tr("Pair column"), m_pairCol);
  m_dataForm->addRow(tr("Label column"), m_labelCol);
  m_header = new QComboBox;
  m_header->addItem(tr("auto (when a column is chosen by name)"), int(lw::train::HeaderMode::kAuto));
  m_header->addItem(tr("yes: the first row names the columns"), int(lw::train::HeaderMode::kYes));
  m_header->addItem(tr("no: the first row is an example"), int(lw::train::HeaderMode::kNo));
  m_header->setToolTip(tr("Whether the first row of a CSV/TSV file is a header; with columns "
                          "chosen by index, say \"yes\" so that the header is not trained on"));
  m_dataForm->addRow(tr("Header row"), m_header);
  m_tagCol = new ColumnSpinBox;
  m_tagCol->setRange(-10, 20);
  m_tagCol->setValue(-1);
  m_tagCol->setToolTip(tr("Tag column: 0-based from the start, or \"last\", \"last - 1\" ... from "
                          "the end"));
  m_dataForm->addRow(tr("Tag column"), m_tagCol);
  m_scheme = new QComboBox;
  m_scheme->addItem(tr("auto (IOB2 or BIOES)"), int(lw::train::TagScheme::kAuto));
  m_scheme->addItem("IOB2", int(lw::train::TagScheme::kIob2));
  m_scheme->addItem("BIOES", int(lw::train::TagScheme::kBioes));
  m_scheme->addItem(tr("IOB1 (converted to IOB2)"), int(lw::train::TagScheme::kIob1));
  m_dataForm->addRow(tr("Tag scheme"), m_scheme);
  for (QLineEdit* e : {m_train, m_valid, m_test})
    connect(e, &QLineEdit::editingFinished, this, &FinetuneForm::dataChanged);
  for (QComboBox* c : {m_textCol, m_pairCol, m_labelCol, m_header, m_scheme})
    connect(c, &QComboBox::currentTextChanged, this, &FinetuneForm::dataChanged);
  connect(m_tagCol, &QSpinBox::valueChanged, this, &FinetuneForm::dataChanged);
  return box;
}

QWidget* FinetuneForm::buildTrainingBox() {
  auto* box = new QGroupBox(tr("Training"));
  auto* form = new QFormLayout(box);
  const lw::api::FinetuneConfig d;
  m_epochs = spin(1, 1000, d.epochs);
  m_batch = spin(1, 4096, d.batch_size);
  m_lr = new QLineEdit(QString::number(d.lr, 'g', 6));
  auto* lrValidator = new QDoubleValidator(1e-9, 10, 12, m_lr);
  lrValidator->setNotation(QDoubleValidator::ScientificNotation);
  m_lr->setValidator(lrValidator);
  m_maxLen = spin(8, 8192, int(d.max_len), tr("Tokens including [CLS]/[SEP]; longer inputs are truncated"));
  m_warmup = dspin(0, 0.5, 0.05, 3, d.warmup_ratio, tr("Share of the optimizer steps spent warming up"));
  m_schedule = new QComboBox;
  for (auto s : {lw::api::LrSchedule::kLinear, lw::api::LrSchedule::kCosine, lw::api::LrSchedule::kConstant})
    m_schedule->addItem(lw::api::lr_schedule_name(s), int(s));
  m_weightDecay = dspin(0, 1, 0.01, 3, d.weight_decay);
  m_decayExclude = new QCheckBox(tr("not on biases and LayerNorm"));
  m_decayExclude->setChecked(d.decay_exclude_bias_norm);
  m_gradAccum = spin(1, 1024, d.grad_accum, tr("Micro-batches per optimizer step"));
  m_clip = dspin(0, 100, 0.5, 2, d.clip_norm, tr("Gradient-norm clipping; 0 = none"));
  m_dropout = dspin(-1, 0.9, 0.05, 2, d.dropout, tr("-1 = the model config's dropout; 0 disables"));
  m_dropout->setSpecialValueText(tr("from config"));
  m_evalEvery = spin(0, 1000000, d.eval_every, tr("Optimizer steps between evaluations; 0 = each epoch end"));
  m_evalEvery->setSpecialValueText(tr("each epoch"));
  m_earlyStop = new QComboBox;
  m_earlyStop->setEditable(true);
  m_earlyStop->addItems({"", "loss", "accuracy", "macro_f1", "f1"});
  m_earlyStop->setToolTip(tr("Stop when this validation metric stops improving (empty = never)"));
  m_earlyStop->lineEdit()->setPlaceholderText(tr("never"));
  m_patience = spin(1, 100, d.early_stop_patience, tr("Evaluations without improvement before stopping"));
  m_maxSteps = spin(0, 100000000, d.max_steps, tr("Stop after this many optimizer steps; 0 = no limit"));
  m_maxSteps->setSpecialValueText(tr("no limit"));
  m_seed = spin(0, 2147483647, int(d.seed));
  m_dtype = new QComboBox;
  m_dtype->addItems({"auto", "f32", "bf16"});
  m_dtype->setToolTip(tr("auto: bf16 with f32 master weights on CUDA, f32 on CPU"));
  m_device = new QComboBox;
  m_device->addItem("cpu");
  const lw::SystemReport sys = lw::query_system();
  for (const auto& dev : sys.cuda_devices)
    m_device->addItem(QStringLiteral("cuda:%1").arg(dev.index), QString::fromStdString(dev.name));
  if (m_device->count() > 1) m_device->setCurrentIndex(1);
  m_runName = new QLineEdit;
  m_runName->setPlaceholderText(tr("optional"));

  auto pair = [](QWidget* a, const QString& label, QWidget* b) {
    auto* w = new QWidget;
    auto* h = new QHBoxLayout(w);
    h->setContentsMargins(0, 0, 0, 0);
    h->addWidget(a, 1);
    h->addWidget(new QLabel(label));
    h->addWidget(b, 1);
    return w;
  };
  form->addRow(tr("Epochs / batch"), pair(m_epochs, tr("batch"), m_batch));
  form->addRow(tr("Learning rate"), pair(m_lr, tr("warm-up"), m_warmup));
  form->addRow(tr("Schedule"), pair(m_schedule, tr("max len"), m_maxLen));
  form->addRow(tr("Weight decay"), pair(m_weightDecay, "", m_decayExclude));
  form->addRow(tr("Grad accum"), pair(m_gradAccum, tr("clip"), m_clip));
  form->addRow(tr("Dropout"), pair(m_dropout, tr("max steps"), m_maxSteps));
  form->addRow(tr("Evaluate"), m_evalEvery);
  form->addRow(tr("Early stop"), pair(m_earlyStop, tr("patience"), m_patience));
  form->addRow(tr("Seed"), pair(m_seed, tr("dtype"), m_dtype));
  form->addRow(tr("Device"), m_device);
  form->addRow(tr("Run name"), m_runName);
  return box;
}

void FinetuneForm::updateTaskWidgets() {
  const bool ner = task() == lw::api::FinetuneTask::kNer;
  for (QWidget* w : {static_cast<QWidget*>(m_textCol), static_cast<QWidget*>(m_pairCol),
                     static_cast<QWidget*>(m_labelCol), static_cast<QWidget*>(m_header)})
    m_dataForm->setRowVisible(w, !ner);
  m_dataForm->setRowVisible(m_tagCol, ner);
  m_dataForm->setRowVisible(m_scheme, ner);
}

void FinetuneForm::updateModelWidgets() {
  const bool pre = m_pretrained->isChecked();
  m_modelRow->setEnabled(pre);
  m_vocabRow->setEnabled(!pre);
  m_randomShape->setEnabled(!pre);
}

lw::api::FinetuneTask FinetuneForm::task() const {
  return lw::api::FinetuneTask(m_task->currentData().toInt());
}
QString FinetuneForm::trainFile() const { return m_train->text().trimmed(); }
QString FinetuneForm::device() const { return m_device->currentText(); }
QString FinetuneForm::tokenizerDir() const {
  return (m_pretrained->isChecked() ? m_modelDir : m_vocabDir)->text().trimmed();
}

void FinetuneForm::setColumns(const QStringList& columns) {
  for (QComboBox* c : {m_textCol, m_pairCol, m_labelCol}) {
    const QString keep = c->currentText();
    QSignalBlocker block(c);
    c->clear();
    if (c == m_pairCol) c->addItem("");
    c->addItems(columns);
    c->setEditText(keep);
  }
}

QString FinetuneForm::resolve(const QString& path) const {
  if (path.isEmpty() || QDir::isAbsolutePath(path) || m_projectDir.isEmpty()) return path;
  return QDir(m_projectDir).filePath(path);
}
