// PromptTunePage: the Prompt-tune page. Base model, tasks file (JSON or YAML) and data files
// with Browse… buttons; a task editor (template fields and virtual-token markers highlighted,
// each task's virtual tokens, splits and answer field summarized) with a live preview of a
// training example of the chosen task; a table of the first data rows; the method (p-tuning
// shows its encoder settings) and hyper-parameters; Train / Stop with live loss and accuracy
// curves; a Try-it box that generates with the tuned table. Engine work runs on
// PromptTuneWorker's thread; the runs land in the project's store (the Experiments page).
#pragma once
#include <QMap>
#include <QString>
#include <QVector>
#include <QWidget>

#include "ui/prompt_tune/prompt_tune_worker.h"

class QComboBox;
class QFormLayout;
class QGroupBox;
class QTableWidget;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QThread;
class QTimer;
class MetricPlot;

class PromptTunePage : public QWidget {
  Q_OBJECT
 public:
  explicit PromptTunePage(QWidget* parent = nullptr);
  ~PromptTunePage() override;

  void setProject(const QString& dir);  // runs and the default table path go there
  void setModelDir(const QString& dir);
  void setTrainFile(const QString& path);
  void setDevFile(const QString& path);
  void setTasksJson(const QString& json);  // JSON or YAML text
  // Reads a tasks file (JSON or YAML) into the editor; false (and the status line) on failure.
  bool loadTasksFile(const QString& path);
  QString preview() const;    // the live preview text
  QString taskSummary() const;  // per task: virtual tokens, splits, answer field
  // The form as the worker gets it on Train.
  PromptTuneJob job() const;
  QString status() const;     // the last status line
  QGroupBox* encoderBox() const { return m_encoderBox; }
  QComboBox* methodCombo() const { return m_method; }
  QComboBox* encoderCombo() const { return m_encoder; }
  QSpinBox* encoderHidden() const { return m_encoderHidden; }
  QSpinBox* encoderLayers() const { return m_encoderLayers; }
  QDoubleSpinBox* encoderDropout() const { return m_encoderDropout; }
  QComboBox* previewTaskCombo() const { return m_previewTask; }
  QTableWidget* dataPreview() const { return m_dataPreview; }
  QString tryItOutput() const;
  void setTryItFields(const QString& json);  // a JSON object of the task's fields
  QLineEdit* tryItField(const QString& field) const { return m_tryEdits.value(field); }
  bool isTraining() const { return m_training; }
  int curvePoints() const { return m_losses.size(); }

 public slots:
  void startTraining();
  void stopTraining();
  void loadTryIt();
  void runTryIt();

 signals:
  void trainingFinished(bool ok);
  void tryItReady(bool ok);
  void generatedText(const QString& text);

  // To the worker thread.
  void workerTrain(const PromptTuneJob& job);
  void workerLoadTryIt(const QString& modelDir, const QString& tablePath);
  void workerGenerate(const QString& task, const QString& fieldsJson, int maxNewTokens);

 private:
  QWidget* buildForm();
  QWidget* buildFiles();
  QWidget* buildMethod();
  QWidget* buildRight();
  void updatePreview();
  void updateDataPreview();
  void rebuildTryFields();
  void browse(QLineEdit* edit, const QString& title, const QString& filter, bool folder, bool save = false);
  void drainProgress();
  void setStatus(const QString& s);

  QString m_project;
  QLineEdit *m_model, *m_tasksFile, *m_train, *m_dev, *m_out;
  QLineEdit *m_initFrom, *m_peftDir, *m_initText;  // optional: a table to extend, a PEFT export
  QFormLayout* m_tryFields;                 // one line edit per field of the Try-it task
  QMap<QString, QLineEdit*> m_tryEdits;
  QMap<QString, QString> m_tryValues;       // typed values, kept across tasks sharing a field
  TaskFields m_tableFields;
  QPlainTextEdit* m_tasks;
  QTableWidget* m_dataPreview;
  QLabel *m_preview, *m_summary, *m_status, *m_output;
  QComboBox *m_method, *m_encoder, *m_tryTask, *m_previewTask, *m_init, *m_device;
  QGroupBox* m_encoderBox;
  QSpinBox *m_epochs, *m_batch, *m_encoderHidden, *m_encoderLayers, *m_seed, *m_warmup;
  QDoubleSpinBox *m_lr, *m_encoderDropout;
  QPushButton *m_trainButton, *m_stopButton, *m_loadButton, *m_generateButton;
  MetricPlot* m_plot;
  QThread* m_thread;
  PromptTuneWorker* m_worker;
  QTimer* m_drain;
  bool m_training = false;
  QVector<double> m_steps, m_losses, m_evalSteps, m_evalAcc;
};
