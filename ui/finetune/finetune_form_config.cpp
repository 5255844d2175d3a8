// FinetuneForm <-> lw::api::FinetuneConfig, validation, and the presets a project.json
// offers (projects/README.md describes the fields).
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QRadioButton>
#include <QSpinBox>

#include "ui/finetune/finetune_form.h"

namespace {
QString columnToText(const lw::train::ColumnSpec& c) {
  return c.by_name() ? QString::fromStdString(c.name) : QString::number(c.index);
}
void selectData(QComboBox* box, int value) {
  const int i = box->findData(value);
  if (i >= 0) box->setCurrentIndex(i);
}
}  // namespace

lw::api::FinetuneConfig FinetuneForm::config() const {
  lw::api::FinetuneConfig c;
  c.task = task();
  if (m_pretrained->isChecked()) {
    c.model_dir = m_modelDir->text().trimmed().toStdString();
  } else {
    c.random_init.vocab_dir = m_vocabDir->text().trimmed().toStdString();
    c.random_init.n_layer = m_layers->value();
    c.random_init.hidden = m_hidden->value();
  }
  c.files.train = m_train->text().trimmed().toStdString();
  c.files.validation = m_valid->text().trimmed().toStdString();
  c.files.test = m_test->text().trimmed().toStdString();
  c.split.validation_fraction = m_validFraction->value();
  c.split.test_fraction = 0;
  c.split.seed = uint64_t(m_seed->value());
  c.classify.text_column = lw::train::ColumnSpec::parse(m_textCol->currentText().trimmed().toStdString());
  const std::string pair = m_pairCol->currentText().trimmed().toStdString();
  c.classify.has_text_pair = !pair.empty();
  if (!pair.empty()) c.classify.text_pair_column = lw::train::ColumnSpec::parse(pair);
  c.classify.label_column = lw::train::ColumnSpec::parse(m_labelCol->currentText().trimmed().toStdString());
  c.classify.header = lw::train::HeaderMode(m_header->currentData().toInt());
  c.ner.tag_column = m_tagCol->value();
  c.ner.scheme = lw::train::TagScheme(m_scheme->currentData().toInt());
  c.max_len = m_maxLen->value();
  c.epochs = m_epochs->value();
  c.batch_size = m_batch->value();
  c.grad_accum = m_gradAccum->value();
  c.lr = m_lr->text().toDouble();
  c.warmup_ratio = m_warmup->value();
  c.schedule = lw::api::LrSchedule(m_schedule->currentData().toInt());
  c.weight_decay = m_weightDecay->value();
  c.decay_exclude_bias_norm = m_decayExclude->isChecked();
  c.clip_norm = m_clip->value();
  c.dropout = m_dropout->value();
  c.dtype = m_dtype->currentText().toStdString();
  c.device = m_device->currentText().toStdString();
  c.seed = uint64_t(m_seed->value());
  c.eval_every = m_evalEvery->value();
  c.early_stop_metric = m_earlyStop->currentText().trimmed().toStdString();
  c.early_stop_patience = m_patience->value();
  c.max_steps = m_maxSteps->value();
  c.run_name = m_runName->text().trimmed().toStdString();
  return c;
}

void FinetuneForm::applyConfig(const lw::api::FinetuneConfig& c) {
  selectData(m_task, int(c.task));
  const bool pre = !c.model_dir.empty();
  (pre ? m_pretrained : m_random)->setChecked(true);
  m_modelDir->setText(QString::fromStdString(c.model_dir));
  m_vocabDir->setText(QString::fromStdString(c.random_init.vocab_dir));
  m_layers->setValue(int(c.random_init.n_layer));
  m_hidden->setValue(int(c.random_init.hidden));
  m_train->setText(QString::fromStdString(c.files.train));
  m_valid->setText(QString::fromStdString(c.files.validation));
  m_test->setText(QString::fromStdString(c.files.test));
  m_validFraction->setValue(c.split.validation_fraction);
  m_textCol->setEditText(columnToText(c.classify.text_column));
  m_pairCol->setEditText(c.classify.has_text_pair ? columnToText(c.classify.text_pair_column) : QString());
  m_labelCol->setEditText(columnToText(c.classify.label_column));
  selectData(m_header, int(c.classify.header));
  m_tagCol->setValue(c.ner.tag_column);
  selectData(m_scheme, int(c.ner.scheme));
  m_maxLen->setValue(int(c.max_len));
  m_epochs->setValue(c.epochs);
  m_batch->setValue(c.batch_size);
  m_gradAccum->setValue(c.grad_accum);
  m_lr->setText(QString::number(c.lr, 'g', 6));
  m_warmup->setValue(c.warmup_ratio);
  selectData(m_schedule, int(c.schedule));
  m_weightDecay->setValue(c.weight_decay);
  m_decayExclude->setChecked(c.decay_exclude_bias_norm);
  m_clip->setValue(c.clip_norm);
  m_dropout->setValue(c.dropout);
  const int dt = m_dtype->findText(QString::fromStdString(c.dtype));
  if (dt >= 0) m_dtype->setCurrentIndex(dt);
  int dev = m_device->findText(QString::fromStdString(c.device));
  if (dev < 0 && c.device == "cuda") dev = m_device->findText("cuda:0");
  if (dev >= 0) m_device->setCurrentIndex(dev);
  m_seed->setValue(int(c.seed));
  m_evalEvery->setValue(c.eval_every);
  m_earlyStop->setEditText(QString::fromStdString(c.early_stop_metric));
  m_patience->setValue(c.early_stop_patience);
  m_maxSteps->setValue(c.max_steps);
  m_runName->setText(QString::fromStdString(c.run_name));
  updateTaskWidgets();
  updateModelWidgets();
  emit dataChanged();
}

QString FinetuneForm::validate() const {
  if (m_pretrained->isChecked() && m_modelDir->text().trimmed().isEmpty())
    return tr("Choose a pretrained model folder, or switch to random init.");
  if (m_random->isChecked() && m_vocabDir->text().trimmed().isEmpty())
    return tr("A random-init model needs a vocabulary folder (vocab.txt or tokenizer.json).");
  if (trainFile().isEmpty()) return tr("Choose a training file.");
  for (QLineEdit* e : {m_train, m_valid, m_test}) {
    const QString f = e->text().trimmed();
    if (!f.isEmpty() && !QFileInfo(f).isFile()) return tr("%1 does not exist.").arg(f);
  }
  bool ok = false;
  const double lr = m_lr->text().toDouble(&ok);
  if (!ok || !(lr > 0)) return tr("The learning rate must be a positive number.");
  return {};
}

void FinetuneForm::setProjectDir(const QString& dir) {
  m_projectDir = dir;
  m_presets = {};
  m_datasets = {};
  QFile f(QDir(dir).filePath("project.json"));
  if (!dir.isEmpty() && f.open(QIODevice::ReadOnly)) {
    const QJsonObject obj = QJsonDocument::fromJson(f.readAll()).object();
    m_presets = obj.value("presets").toArray();
    m_datasets = obj.value("datasets").toArray();
  }
  m_preset->clear();
  m_preset->addItem(tr("(choose a preset)"));
  for (const auto& p : m_presets) m_preset->addItem(p.toObject().value("name").toString());
  m_preset->setVisible(!m_presets.isEmpty());
  m_presetLabel->setVisible(!m_presets.isEmpty());
}

QStringList FinetuneForm::presetNames() const {
  QStringList names;
  for (const auto& p : m_presets) names << p.toObject().value("name").toString();
  return names;
}

bool FinetuneForm::applyPreset(const QString& name) {
  QJsonObject preset;
  for (const auto& p : m_presets)
    if (p.toObject().value("name").toString() == name) preset = p.toObject();
  if (preset.isEmpty()) return false;
  QJsonObject data;
  for (const auto& d : m_datasets)
    if (d.toObject().value("name").toString() == preset.value("dataset").toString()) data = d.toObject();
  lw::api::FinetuneConfig c = config();
  auto parsed = lw::api::parse_finetune_task(preset.value("task").toString().toStdString());
  if (parsed.is_ok()) c.task = parsed.value();
  c.model_dir = resolve(preset.value("model_dir").toString()).toStdString();
  const QJsonObject ri = preset.value("random_init").toObject();
  if (!ri.isEmpty()) {
    c.model_dir.clear();
    c.random_init.vocab_dir = resolve(ri.value("vocab_dir").toString()).toStdString();
    c.random_init.n_layer = ri.value("n_layer").toInt(int(c.random_init.n_layer));
    c.random_init.hidden = ri.value("hidden").toInt(int(c.random_init.hidden));
  }
  c.files.train = resolve(data.value("train").toString()).toStdString();
  c.files.validation = resolve(data.value("validation").toString()).toStdString();
  c.files.test = resolve(data.value("test").toString()).toStdString();
  if (data.contains("text_column"))
    c.classify.text_column = lw::train::ColumnSpec::parse(data.value("text_column").toString().toStdString());
  if (data.contains("label_column"))
    c.classify.label_column = lw::train::ColumnSpec::parse(data.value("label_column").toString().toStdString());
  c.classify.has_text_pair = false;
  c.ner.tag_column = data.value("tag_column").toInt(c.ner.tag_column);
  c.max_len = preset.value("max_len").toInt(int(c.max_len));
  c.epochs = preset.value("epochs").toInt(c.epochs);
  c.batch_size = preset.value("batch_size").toInt(c.batch_size);
  c.lr = preset.value("lr").toDouble(c.lr);
  c.warmup_ratio = preset.value("warmup_ratio").toDouble(c.warmup_ratio);
  c.eval_every = preset.value("eval_every").toInt(c.eval_every);
  c.run_name = name.toStdString();
  applyConfig(c);
  m_preset->setCurrentText(name);
  return true;
}
