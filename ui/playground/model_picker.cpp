// ModelPicker: the folder combo doubles as the recent-models list (QSettings
// "playground/recentModels"); dtype choices follow the device (CPU computes in f32 only).
#include "ui/playground/model_picker.h"

#include <QComboBox>
#include <QFileDialog>
#include <QGridLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QToolButton>

namespace {
const char* kRecentKey = "playground/recentModels";
}

ModelPicker::ModelPicker(QWidget* parent) : QWidget(parent) {
  auto* grid = new QGridLayout(this);
  grid->setContentsMargins(0, 0, 0, 0);
  m_folder = new QComboBox;
  m_folder->setEditable(true);
  m_folder->setInsertPolicy(QComboBox::NoInsert);
  m_folder->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_folder->setMinimumContentsLength(16);
  m_folder->lineEdit()->setPlaceholderText(tr("Hugging Face model folder"));
  m_folder->addItems(recentModels());
  m_folder->setCurrentIndex(-1);
  auto* browse = new QToolButton;
  browse->setText(tr("…"));
  browse->setToolTip(tr("Choose a model folder"));
  m_device = new QComboBox;
  m_device->addItem("cpu");
  m_dtype = new QComboBox;
  m_dtype->addItem("f32");
  m_load = new QPushButton(tr("Load"));
  m_load->setDefault(false);
  m_summary = new QLabel(tr("No model loaded."));
  m_summary->setWordWrap(true);
  m_summary->setTextFormat(Qt::RichText);
  m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
  grid->addWidget(m_folder, 0, 0, 1, 3);
  grid->addWidget(browse, 0, 3);
  grid->addWidget(new QLabel(tr("Device")), 1, 0);
  grid->addWidget(m_device, 1, 1);
  grid->addWidget(m_dtype, 1, 2);
  grid->addWidget(m_load, 1, 3);
  grid->addWidget(m_summary, 2, 0, 1, 4);
  grid->setColumnStretch(1, 1);
  grid->setColumnStretch(2, 1);
  connect(browse, &QToolButton::clicked, this, &ModelPicker::browse);
  connect(m_load, &QPushButton::clicked, this,
          [this] { emit loadRequested(folder(), device(), dtype()); });
  connect(m_folder->lineEdit(), &QLineEdit::returnPressed, m_load, &QPushButton::click);
  connect(m_device, &QComboBox::currentTextChanged, this, [this](const QString& d) {
    const QString keep = m_dtype->currentText();
    m_dtype->clear();
    m_dtype->addItems(d == "cpu" ? QStringList{"f32"} : QStringList{"bf16", "f16", "f32"});
    if (m_dtype->findText(keep) >= 0) m_dtype->setCurrentText(keep);
  });
}

QString ModelPicker::folder() const { return m_folder->currentText().trimmed(); }
void ModelPicker::setFolder(const QString& dir) { m_folder->setCurrentText(dir); }
QString ModelPicker::device() const { return m_device->currentText(); }
QString ModelPicker::dtype() const { return m_dtype->currentText(); }

void ModelPicker::setDevices(const QStringList& devices) {
  const QString keep = device();
  m_device->clear();
  m_device->addItems(devices);
  if (m_device->findText(keep) >= 0) m_device->setCurrentText(keep);
}

QStringList ModelPicker::devices() const {
  QStringList out;
  for (int i = 0; i < m_device->count(); ++i) out << m_device->itemText(i);
  return out;
}

QStringList ModelPicker::recentModels() const { return QSettings().value(kRecentKey).toStringList(); }

void ModelPicker::addRecent(const QString& dir) {
  QStringList recent = recentModels();
  recent.removeAll(dir);
  recent.prepend(dir);
  while (recent.size() > 10) recent.removeLast();
  QSettings().setValue(kRecentKey, recent);
  const QString text = folder();
  m_folder->clear();
  m_folder->addItems(recent);
  m_folder->setCurrentText(text);
}

void ModelPicker::setSummary(const QString& html) { m_summary->setText(html); }

void ModelPicker::setBusy(bool busy) {
  m_load->setEnabled(!busy);
  m_load->setText(busy ? tr("Loading…") : tr("Load"));
}

void ModelPicker::browse() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Model folder"), folder());
  if (dir.isEmpty()) return;
  setFolder(dir);
  emit loadRequested(folder(), device(), dtype());
}
