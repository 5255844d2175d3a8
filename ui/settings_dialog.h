// SettingsDialog: the workbench preferences kept with QSettings (AppSettings):
// default compute device, light/dark theme, default folder for new projects.
#pragma once
#include <QDialog>
#include <QStringList>

class QComboBox;
class QLineEdit;

class SettingsDialog : public QDialog {
  Q_OBJECT
 public:
  // devices: "cuda:0 NVIDIA H100 ..." style labels of what this machine has.
  explicit SettingsDialog(const QStringList& cudaDevices, QWidget* parent = nullptr);
  void save() const;  // writes the shown values (called on accept)

  QComboBox* deviceBox() const { return m_device; }
  QComboBox* themeBox() const { return m_theme; }
  QLineEdit* folderEdit() const { return m_folder; }

 private:
  QComboBox* m_device = nullptr;
  QComboBox* m_theme = nullptr;
  QLineEdit* m_folder = nullptr;
};
