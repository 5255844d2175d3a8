// The device list comes from the engine's system report (gathered once by the
// main window off the GUI thread); a saved device that is absent now (a GPU
// machine's setting on a laptop) stays selectable so it is not silently lost.
#include "ui/settings_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QToolButton>

#include "ui/app_settings.h"

SettingsDialog::SettingsDialog(const QStringList& cudaDevices, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Settings"));
  m_device = new QComboBox(this);
  m_device->addItem(tr("Automatic (first GPU, else CPU)"), "auto");
  m_device->addItem(tr("CPU"), "cpu");
  for (int i = 0; i < cudaDevices.size(); ++i)
    m_device->addItem(cudaDevices[i], QStringLiteral("cuda:%1").arg(i));
  const QString device = AppSettings::defaultDevice();
  if (m_device->findData(device) < 0) m_device->addItem(tr("%1 (not present)").arg(device), device);
  m_device->setCurrentIndex(m_device->findData(device));

  m_theme = new QComboBox(this);
  m_theme->addItem(tr("Light"), "light");
  m_theme->addItem(tr("Dark"), "dark");
  m_theme->setCurrentIndex(std::max(0, m_theme->findData(AppSettings::theme())));

  m_folder = new QLineEdit(AppSettings::projectsFolder(), this);
  m_folder->setMinimumWidth(320);
  auto* browse = new QToolButton(this);
  browse->setText(tr("Browse…"));
  auto* folderRow = new QHBoxLayout;
  folderRow->addWidget(m_folder, 1);
  folderRow->addWidget(browse);
  connect(browse, &QToolButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Default project folder"), m_folder->text());
    if (!dir.isEmpty()) m_folder->setText(dir);
  });

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  connect(buttons, &QDialogButtonBox::accepted, this, [this] {
    save();
    accept();
  });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* form = new QFormLayout(this);
  form->addRow(tr("Default device"), m_device);
  form->addRow(tr("Theme"), m_theme);
  form->addRow(tr("Project folder"), folderRow);
  form->addRow(buttons);
}

void SettingsDialog::save() const {
  AppSettings::setDefaultDevice(m_device->currentData().toString());
  AppSettings::setTheme(m_theme->currentData().toString());
  AppSettings::setProjectsFolder(m_folder->text().trimmed());
}
