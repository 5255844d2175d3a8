// SamplingPanel: a form of spin boxes plus preset storage. Built-in presets are written
// on first use so a new user has sensible starting points (greedy, balanced, creative).
#include "ui/playground/sampling_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QToolButton>
#include <climits>

namespace {
const char* kGroup = "playground/presets";

QDoubleSpinBox* doubleBox(double lo, double hi, double step, double value, int decimals = 2) {
  auto* b = new QDoubleSpinBox;
  b->setRange(lo, hi);
  b->setSingleStep(step);
  b->setDecimals(decimals);
  b->setValue(value);
  return b;
}

QSpinBox* intBox(int lo, int hi, int value) {
  auto* b = new QSpinBox;
  b->setRange(lo, hi);
  b->setValue(value);
  return b;
}

void writePreset(QSettings& s, const lw::SamplingParams& p) {
  s.setValue("greedy", p.greedy);
  s.setValue("temperature", p.temperature);
  s.setValue("top_k", p.top_k);
  s.setValue("top_p", p.top_p);
  s.setValue("min_p", p.min_p);
  s.setValue("repetition_penalty", p.repetition_penalty);
  s.setValue("presence_penalty", p.presence_penalty);
  s.setValue("frequency_penalty", p.frequency_penalty);
  s.setValue("seed", qulonglong(p.seed));
  s.setValue("max_new_tokens", qlonglong(p.max_new_tokens));
  s.setValue("top_logprobs", p.top_logprobs);
  QStringList stops;
  for (const auto& st : p.stop) stops << QString::fromStdString(st);
  s.setValue("stop", stops);
}
}  // namespace

SamplingPanel::SamplingPanel(QWidget* parent) : QWidget(parent) {
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  auto* presetRow = new QHBoxLayout;
  m_presets = new QComboBox;
  m_presets->setObjectName("presetCombo");
  auto* save = new QToolButton;
  save->setText(tr("Save…"));
  save->setToolTip(tr("Save the current settings as a named preset"));
  auto* del = new QToolButton;
  del->setText(tr("Delete"));
  presetRow->addWidget(m_presets, 1);
  presetRow->addWidget(save);
  presetRow->addWidget(del);
  form->addRow(tr("Preset"), presetRow);
  m_greedy = new QCheckBox(tr("Greedy (always the most likely token)"));
  form->addRow(QString(), m_greedy);
  form->addRow(tr("Temperature"), m_temperature = doubleBox(0, 5, 0.05, 0.8));
  form->addRow(tr("Top-k"), m_topK = intBox(0, 1000000, 40));
  m_topK->setSpecialValueText(tr("off"));
  form->addRow(tr("Top-p"), m_topP = doubleBox(0, 1, 0.01, 0.95, 3));
  form->addRow(tr("Min-p"), m_minP = doubleBox(0, 1, 0.01, 0, 3));
  m_minP->setSpecialValueText(tr("off"));
  form->addRow(tr("Repetition penalty"), m_repetition = doubleBox(0, 5, 0.05, 1.0));
  form->addRow(tr("Presence penalty"), m_presence = doubleBox(-2, 2, 0.1, 0));
  form->addRow(tr("Frequency penalty"), m_frequency = doubleBox(-2, 2, 0.1, 0));
  form->addRow(tr("Seed"), m_seed = intBox(0, INT_MAX, 0));
  form->addRow(tr("Max new tokens"), m_maxNew = intBox(0, 1 << 20, 64));
  form->addRow(tr("Alternatives shown"), m_topAlternatives = intBox(0, 100, 5));
  m_stops = new QPlainTextEdit;
  m_stops->setPlaceholderText(tr("one stop string per line (\\n for a newline)"));
  m_stops->setFixedHeight(m_stops->fontMetrics().height() * 3 + 10);
  m_stops->setTabChangesFocus(true);
  form->addRow(tr("Stop strings"), m_stops);

  connect(m_greedy, &QCheckBox::toggled, this, &SamplingPanel::updateEnabled);
  // A hand edit leaves the preset: the combo then reads "custom" until one is applied or saved.
  m_presets->setPlaceholderText(tr("custom"));
  auto edited = [this] {
    if (!m_applying) m_presets->setCurrentIndex(-1);
  };
  connect(m_greedy, &QCheckBox::toggled, this, edited);
  for (QDoubleSpinBox* b : {m_temperature, m_topP, m_minP, m_repetition, m_presence, m_frequency})
    connect(b, &QDoubleSpinBox::valueChanged, this, edited);
  for (QSpinBox* b : {m_topK, m_seed, m_maxNew, m_topAlternatives})
    connect(b, &QSpinBox::valueChanged, this, edited);
  connect(m_stops, &QPlainTextEdit::textChanged, this, edited);
  connect(save, &QToolButton::clicked, this, &SamplingPanel::onSaveClicked);
  connect(del, &QToolButton::clicked, this, [this] { deletePreset(currentPreset()); });
  connect(m_presets, &QComboBox::activated, this,
          [this](int i) { applyPreset(m_presets->itemText(i)); });

  QSettings s;
  if (!s.value("playground/presetsSeeded", false).toBool()) {
    lw::SamplingParams greedy;
    greedy.greedy = true;
    greedy.max_new_tokens = 64;
    greedy.top_logprobs = 5;
    lw::SamplingParams balanced = greedy;
    balanced.greedy = false;
    balanced.temperature = 0.7f;
    balanced.top_p = 0.9f;
    balanced.top_k = 40;
    lw::SamplingParams creative = balanced;
    creative.temperature = 1.1f;
    creative.top_p = 0.98f;
    creative.top_k = 0;
    creative.min_p = 0.05f;
    const std::pair<const char*, lw::SamplingParams> builtIn[] = {
        {"Greedy", greedy}, {"Balanced", balanced}, {"Creative", creative}};
    for (const auto& [name, p] : builtIn) {
      s.beginGroup(QString(kGroup) + "/" + name);
      writePreset(s, p);
      s.endGroup();
    }
    s.setValue("playground/presetsSeeded", true);
  }
  refreshPresets(s.value("playground/lastPreset", "Balanced").toString());
  applyPreset(currentPreset());
}

lw::SamplingParams SamplingPanel::params() const {
  lw::SamplingParams p;
  p.greedy = m_greedy->isChecked();
  p.temperature = float(m_temperature->value());
  p.top_k = m_topK->value();
  p.top_p = float(m_topP->value());
  p.min_p = float(m_minP->value());
  p.repetition_penalty = float(m_repetition->value());
  p.presence_penalty = float(m_presence->value());
  p.frequency_penalty = float(m_frequency->value());
  p.seed = uint64_t(m_seed->value());
  p.max_new_tokens = m_maxNew->value();
  p.top_logprobs = m_topAlternatives->value();
  p.stop = parseStops(m_stops->toPlainText());
  return p;
}

void SamplingPanel::setParams(const lw::SamplingParams& p) {
  m_greedy->setChecked(p.greedy);
  m_temperature->setValue(p.temperature);
  m_topK->setValue(p.top_k);
  m_topP->setValue(p.top_p);
  m_minP->setValue(p.min_p);
  m_repetition->setValue(p.repetition_penalty);
  m_presence->setValue(p.presence_penalty);
  m_frequency->setValue(p.frequency_penalty);
  m_seed->setValue(int(std::min<uint64_t>(p.seed, INT_MAX)));
  m_maxNew->setValue(int(std::min<int64_t>(p.max_new_tokens, m_maxNew->maximum())));
  m_topAlternatives->setValue(p.top_logprobs);
  QStringList stops;
  for (const auto& s : p.stop)
    stops << QString::fromStdString(s).replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t");
  m_stops->setPlainText(stops.join('\n'));
  updateEnabled();
}

std::vector<std::string> SamplingPanel::parseStops(const QString& text) {
  std::vector<std::string> out;
  for (const QString& line : text.split('\n')) {
    if (line.isEmpty()) continue;
    QString s;
    for (int i = 0; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        const QChar c = line[++i];
        s += c == 'n' ? QChar('\n') : c == 't' ? QChar('\t') : c;
      } else {
        s += line[i];
      }
    }
    out.push_back(s.toStdString());
  }
  return out;
}

QStringList SamplingPanel::presetNames() const {
  QSettings s;
  s.beginGroup(kGroup);
  QStringList names = s.childGroups();
  names.sort(Qt::CaseInsensitive);
  return names;
}

void SamplingPanel::savePreset(const QString& name) {
  if (name.trimmed().isEmpty()) return;
  QSettings s;
  s.remove(QString(kGroup) + "/" + name.trimmed());
  s.beginGroup(QString(kGroup) + "/" + name.trimmed());
  writePreset(s, params());
  s.endGroup();
  refreshPresets(name.trimmed());
  emit presetsChanged();
}

bool SamplingPanel::applyPreset(const QString& name) {
  QSettings s;
  if (name.isEmpty() || !presetNames().contains(name)) return false;
  s.beginGroup(QString(kGroup) + "/" + name);
  lw::SamplingParams p;
  p.greedy = s.value("greedy", false).toBool();
  p.temperature = s.value("temperature", 1.0).toFloat();
  p.top_k = s.value("top_k", 0).toInt();
  p.top_p = s.value("top_p", 1.0).toFloat();
  p.min_p = s.value("min_p", 0.0).toFloat();
  p.repetition_penalty = s.value("repetition_penalty", 1.0).toFloat();
  p.presence_penalty = s.value("presence_penalty", 0.0).toFloat();
  p.frequency_penalty = s.value("frequency_penalty", 0.0).toFloat();
  p.seed = s.value("seed", 0).toULongLong();
  p.max_new_tokens = s.value("max_new_tokens", 64).toLongLong();
  p.top_logprobs = s.value("top_logprobs", 5).toInt();
  for (const QString& st : s.value("stop").toStringList()) p.stop.push_back(st.toStdString());
  s.endGroup();
  m_applying = true;
  setParams(p);
  m_applying = false;
  s.setValue("playground/lastPreset", name);
  m_presets->setCurrentText(name);
  return true;
}

void SamplingPanel::deletePreset(const QString& name) {
  if (name.isEmpty()) return;
  QSettings().remove(QString(kGroup) + "/" + name);
  refreshPresets();
  emit presetsChanged();
}

QString SamplingPanel::currentPreset() const { return m_presets->currentText(); }

void SamplingPanel::refreshPresets(const QString& select) {
  const QString keep = select.isEmpty() ? m_presets->currentText() : select;
  m_presets->clear();
  m_presets->addItems(presetNames());
  const int i = m_presets->findText(keep);
  m_presets->setCurrentIndex(i >= 0 ? i : 0);
}

void SamplingPanel::updateEnabled() {
  const bool sampling = !m_greedy->isChecked();
  for (QWidget* w : std::initializer_list<QWidget*>{m_temperature, m_topK, m_topP, m_minP, m_seed})
    w->setEnabled(sampling);
}

void SamplingPanel::onSaveClicked() {
  bool ok = false;
  const QString name = QInputDialog::getText(this, tr("Save preset"), tr("Preset name:"),
                                             QLineEdit::Normal, currentPreset(), &ok);
  if (ok) savePreset(name);
}
