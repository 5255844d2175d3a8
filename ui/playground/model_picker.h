// ModelPicker: the playground's model row: a folder (typed, browsed or picked from the
// recent models kept in QSettings), the device and dtype to load it with, a Load button,
// and a summary of what is loaded (architecture, parameters, dtype, device, memory).
#pragma once
#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;

class ModelPicker : public QWidget {
  Q_OBJECT
 public:
  explicit ModelPicker(QWidget* parent = nullptr);

  QString folder() const;
  void setFolder(const QString& dir);
  QString device() const;
  QString dtype() const;
  void setDevices(const QStringList& devices);
  QStringList devices() const;
  QStringList recentModels() const;
  void addRecent(const QString& dir);  // most recent first, at most 10
  void setSummary(const QString& html);
  void setBusy(bool busy);

  QComboBox* folderCombo() const { return m_folder; }
  QPushButton* loadButton() const { return m_load; }
  QLabel* summaryLabel() const { return m_summary; }

 signals:
  void loadRequested(const QString& dir, const QString& device, const QString& dtype);

 private:
  void browse();

  QComboBox* m_folder = nullptr;
  QComboBox* m_device = nullptr;
  QComboBox* m_dtype = nullptr;
  QPushButton* m_load = nullptr;
  QLabel* m_summary = nullptr;
};
