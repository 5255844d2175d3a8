// SamplingPanel: the playground's sampling controls (greedy, temperature, top-k/top-p/min-p,
// penalties, seed, max new tokens, stop strings, alternatives per token) and named presets
// kept in QSettings ("playground/presets/<name>"). Values are not range-checked here beyond
// the spin boxes: the engine's SamplingParams::validate() gives the message the page shows.
#pragma once
#include <QWidget>

#include "engine/api/generate.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QPlainTextEdit;
class QSpinBox;

class SamplingPanel : public QWidget {
  Q_OBJECT
 public:
  explicit SamplingPanel(QWidget* parent = nullptr);

  lw::SamplingParams params() const;
  void setParams(const lw::SamplingParams& p);

  QStringList presetNames() const;  // sorted
  void savePreset(const QString& name);
  bool applyPreset(const QString& name);
  void deletePreset(const QString& name);
  QString currentPreset() const;

  // Stop strings as typed: one per line, "\n" and "\t" escapes understood.
  static std::vector<std::string> parseStops(const QString& text);

  QCheckBox* greedyBox() const { return m_greedy; }
  QDoubleSpinBox* temperatureBox() const { return m_temperature; }
  QDoubleSpinBox* topPBox() const { return m_topP; }
  QSpinBox* maxNewTokensBox() const { return m_maxNew; }
  QSpinBox* topAlternativesBox() const { return m_topAlternatives; }

 signals:
  void presetsChanged();

 private:
  void refreshPresets(const QString& select = {});
  void updateEnabled();
  void onSaveClicked();

  QComboBox* m_presets = nullptr;
  QCheckBox* m_greedy = nullptr;
  QDoubleSpinBox *m_temperature = nullptr, *m_topP = nullptr, *m_minP = nullptr;
  QDoubleSpinBox *m_repetition = nullptr, *m_presence = nullptr, *m_frequency = nullptr;
  QSpinBox *m_topK = nullptr, *m_seed = nullptr, *m_maxNew = nullptr, *m_topAlternatives = nullptr;
  QPlainTextEdit* m_stops = nullptr;
  bool m_applying = false;  // applyPreset() is filling the controls
};
