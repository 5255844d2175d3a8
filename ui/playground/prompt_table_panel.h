// PromptTablePanel: the Playground's "Prompt table" group (off by default). It holds the table
// path (a tuned-prompt .safetensors or a PEFT adapter folder) with Browse…, the task combo
// filled from the loaded table, and — placed by the page where the free prompt editor sits —
// one line edit per template field except the answer, under the task's template. Plain data
// in, user intent out (loadRequested); the page and its worker do the engine work.
#pragma once
#include <QGroupBox>
#include <QMap>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;

// One task of a loaded table, as the panel shows it.
struct PromptTableTask {
  QString name, promptTemplate, answerField;
  QStringList fields;  // the template's fields in order, the answer field left out
  int virtualTokens = 0;
};
using PromptTableTasks = QVector<PromptTableTask>;
Q_DECLARE_METATYPE(PromptTableTasks)

class PromptTablePanel : public QGroupBox {
  Q_OBJECT
 public:
  explicit PromptTablePanel(QWidget* parent = nullptr);

  // The field editor the page shows instead of its prompt editor while the table is active.
  QWidget* fieldsWidget() const { return m_fieldsWidget; }
  // Checked and a table loaded: Generate uses the table.
  bool isActive() const { return isChecked() && !m_tasks.isEmpty(); }
  QString path() const;
  QString loadedPath() const { return m_loadedPath; }
  // Sets the path; asks for a load when the group is on and the path changed.
  void setPath(const QString& path);
  void setStartFolder(const QString& dir) { m_startFolder = dir; }

  void setTasks(const QString& path, const PromptTableTasks& tasks);  // a load succeeded
  void setLoadError(const QString& path, const QString& error);       // a load failed
  void setLoading(const QString& path);
  void forgetTable();  // the model changed: the table must be loaded again

  QString currentTask() const;
  bool setCurrentTask(const QString& name);
  QMap<QString, QString> fieldValues() const;
  QLineEdit* fieldEdit(const QString& field) const;
  QComboBox* taskCombo() const { return m_task; }
  QLineEdit* pathEdit() const { return m_path; }
  QLabel* statusLabel() const { return m_status; }

 signals:
  void loadRequested(const QString& path);
  void activeChanged(bool active);

 private:
  void requestLoad();
  void rebuildFields();
  void browse();

  QLineEdit* m_path = nullptr;
  QPushButton* m_browse = nullptr;
  QComboBox* m_task = nullptr;
  QLabel* m_status = nullptr;
  QWidget* m_fieldsWidget = nullptr;
  QLabel* m_template = nullptr;
  QFormLayout* m_fieldsForm = nullptr;
  QMap<QString, QLineEdit*> m_fieldEdits;
  PromptTableTasks m_tasks;
  QString m_loadedPath, m_requestedPath, m_startFolder;
  bool m_wasActive = false;
};
