// PromptTunePage: the Prompt-tune page. A task editor (template fields and virtual-token
// markers highlighted) with a live preview of the first training example, the data files and a
// preview of their first lines, the method and hyper-parameters, Train / Stop with live loss
// and accuracy curves, and a Try-it box that generates with the tuned table. Engine work runs
// on PromptTuneWorker's thread; the runs land in the project's store (the Experiments page).
#pragma once
#include <QString>
#include <QVector>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QThread;
class QTimer;
class MetricPlot;
class PromptTuneWorker;

class PromptTunePage : public QWidget {
  Q_OBJECT
 public:
  explicit PromptTunePage(QWidget* parent = nullptr);
  ~PromptTunePage() override;

  void setProject(const QString& dir);  // runs and the default table path go there
  void setModelDir(const QString& dir);
  void setTrainFile(const QString& path);
  void setDevFile(const QString& path);
  void setTasksJson(const QString& json);
  QString preview() const;    // the live preview text
  QString status() const;     // the last status line
  QString tryItOutput() const;
  void setTryItFields(const QString& json);  // a JSON object of the task's fields
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
  void workerTrain(const QString& modelDir, const QString& tasksJson, const QString& trainPath,
                   const QString& devPath, const QString& projectDir, const QString& outPath,
                   const QString& method, const QString& encoder, int epochs, double lr, int batch);
  void workerLoadTryIt(const QString& modelDir, const QString& tablePath);
  void workerGenerate(const QString& task, const QString& fieldsJson, int maxNewTokens);

 private:
  QWidget* buildForm();
  QWidget* buildRight();
  void updatePreview();
  void drainProgress();
  void setStatus(const QString& s);

  QString m_project;
  QLineEdit *m_model, *m_train, *m_dev, *m_out, *m_fields;
  QPlainTextEdit *m_tasks, *m_dataPreview;
  QLabel *m_preview, *m_status, *m_output;
  QComboBox *m_method, *m_encoder, *m_tryTask;
  QSpinBox *m_epochs, *m_batch;
  QDoubleSpinBox* m_lr;
  QPushButton *m_trainButton, *m_stopButton, *m_loadButton, *m_generateButton;
  MetricPlot* m_plot;
  QThread* m_thread;
  PromptTuneWorker* m_worker;
  QTimer* m_drain;
  bool m_training = false;
  QVector<double> m_steps, m_losses, m_evalSteps, m_evalAcc;
};
