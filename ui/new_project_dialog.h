// NewProjectDialog: asks for a project name and the folder to create it in
// (default: the projects folder from the settings).
#pragma once
#include <QDialog>

class QLabel;
class QLineEdit;

class NewProjectDialog : public QDialog {
  Q_OBJECT
 public:
  explicit NewProjectDialog(QWidget* parent = nullptr);
  QString name() const;
  QString directory() const;  // <location>/<name as a folder name>

 private:
  void updatePreview();
  QLineEdit* m_name = nullptr;
  QLineEdit* m_location = nullptr;
  QLabel* m_preview = nullptr;
};
