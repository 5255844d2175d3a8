// FinetuneForm: the left column of the Fine-tune page: task, starting model (a Hugging
// Face folder or a random BERT), dataset files with their column / tag choices, the
// hyper-parameters (defaults from lw::api::FinetuneConfig), device and run name. It reads
// and writes a FinetuneConfig and offers the presets of the project's project.json.
#pragma once
#include <QJsonArray>
#include <QWidget>

#include "engine/api/finetune.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QGroupBox;
class QLabel;
class QLineEdit;
class QRadioButton;
class QSpinBox;
class QWidget;

class FinetuneForm : public QWidget {
  Q_OBJECT
 public:
  explicit FinetuneForm(QWidget* parent = nullptr);

  // Relative dataset paths of presets resolve against this folder; reads its presets.
  void setProjectDir(const QString& dir);
  QStringList presetNames() const;
  bool applyPreset(const QString& name);

  lw::api::FinetuneConfig config() const;  // project_dir left empty
  void applyConfig(const lw::api::FinetuneConfig& config);
  // Empty when the form can start a run, else what is missing, for the user.
  QString validate() const;

  lw::api::FinetuneTask task() const;
  QString trainFile() const;
  QString tokenizerDir() const;  // the model folder, or the random-init vocabulary folder
  QString device() const;
  // Header names of the training file, offered in the column choosers.
  void setColumns(const QStringList& columns);

 signals:
  void dataChanged();  // task, files or column choices changed: the preview is stale
  void taskChanged(lw::api::FinetuneTask task);

 private:
  QWidget* buildModelBox();
  QWidget* buildDataBox();
  QWidget* buildTrainingBox();
  QLineEdit* pathEdit(const QString& placeholder, bool folder, QWidget** row);
  void updateTaskWidgets();
  void updateModelWidgets();
  QString resolve(const QString& path) const;

  QString m_projectDir;
  QJsonArray m_presets, m_datasets;

  QComboBox* m_preset = nullptr;
  QLabel* m_presetLabel = nullptr;
  QComboBox* m_task = nullptr;
  QRadioButton* m_pretrained = nullptr;
  QRadioButton* m_random = nullptr;
  QLineEdit* m_modelDir = nullptr;
  QWidget* m_modelRow = nullptr;
  QLineEdit* m_vocabDir = nullptr;
  QWidget* m_vocabRow = nullptr;
  QSpinBox* m_layers = nullptr;
  QSpinBox* m_hidden = nullptr;
  QWidget* m_randomShape = nullptr;

  QLineEdit* m_train = nullptr;
  QLineEdit* m_valid = nullptr;
  QLineEdit* m_test = nullptr;
  QDoubleSpinBox* m_validFraction = nullptr;
  QComboBox* m_textCol = nullptr;
  QComboBox* m_pairCol = nullptr;
  QComboBox* m_header = nullptr;  // train::HeaderMode
  QComboBox* m_labelCol = nullptr;
  QSpinBox* m_tagCol = nullptr;
  QComboBox* m_scheme = nullptr;
  QFormLayout* m_dataForm = nullptr;

  QSpinBox* m_epochs = nullptr;
  QSpinBox* m_batch = nullptr;
  QLineEdit* m_lr = nullptr;
  QSpinBox* m_maxLen = nullptr;
  QDoubleSpinBox* m_warmup = nullptr;
  QComboBox* m_schedule = nullptr;
  QDoubleSpinBox* m_weightDecay = nullptr;
  QCheckBox* m_decayExclude = nullptr;
  QSpinBox* m_gradAccum = nullptr;
  QDoubleSpinBox* m_clip = nullptr;
  QDoubleSpinBox* m_dropout = nullptr;
  QSpinBox* m_evalEvery = nullptr;
  QComboBox* m_earlyStop = nullptr;
  QSpinBox* m_patience = nullptr;
  QSpinBox* m_maxSteps = nullptr;
  QSpinBox* m_seed = nullptr;
  QComboBox* m_dtype = nullptr;
  QComboBox* m_device = nullptr;
  QLineEdit* m_runName = nullptr;
};
