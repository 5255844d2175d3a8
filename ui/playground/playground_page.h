// PlaygroundPage: where users meet a model. Pick and load a Hugging Face folder, write a
// prompt, set sampling, Generate/Stop with the text streaming in, live tokens/s and time to
// first token, and a TokenView of every token coloured by probability whose alternatives can
// be clicked to continue from there. A BertForMaskedLM folder switches the page to
// fill-mask. The "Prompt table" group generates through a tuned prompt table instead: the
// prompt editor gives way to the task's fields. All engine work runs in a PlaygroundWorker
// thread; errors show on the page.
#pragma once
#include <QElapsedTimer>
#include <QWidget>
#include <atomic>
#include <memory>
#include <vector>

#include "ui/playground/playground_worker.h"

class FillMaskView;
class ModelPicker;
class PromptTablePanel;
class QGroupBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QStackedWidget;
class QTabWidget;
class QThread;
class QTimer;
class SamplingPanel;
class TokenView;

class PlaygroundPage : public QWidget {
  Q_OBJECT
 public:
  enum class Mode { Generate, FillMask };

  explicit PlaygroundPage(QWidget* parent = nullptr);
  ~PlaygroundPage() override;

  // The project's folder: its models/ sub-folder is where the folder chooser starts.
  void setProject(const QString& dir);
  void loadModel(const QString& dir);  // with the picker's device and dtype
  void setPrompt(const QString& text);
  QString prompt() const;
  // Reads a UTF-8 prompt file into the editor; false (and a message) when it is not UTF-8.
  bool loadPromptFile(const QString& path);

  void generate();  // or fill-mask, by mode
  void stop();      // returns to idle at once; the worker ends at its next poll
  // Truncates at token `viewIndex` of the token view, puts alternative `alt` there and
  // continues generating from it.
  void chooseAlternative(int viewIndex, int alt);
  void requestAttention();

  Mode mode() const { return m_mode; }
  bool isGenerating() const { return m_runId != 0; }
  bool isLoading() const { return m_loading; }
  bool hasModel() const { return !m_info.dir.isEmpty(); }
  const PlaygroundModelInfo& modelInfo() const { return m_info; }
  QString errorText() const;
  QString outputText() const { return m_text; }
  QString metricsText() const;
  const std::vector<int32_t>& promptIds() const { return m_promptIds; }
  const std::vector<int32_t>& generatedIds() const { return m_generatedIds; }
  const QVector<QVector<int>>& alternativeIds() const { return m_altIds; }
  int promptTokenCount() const { return int(m_promptIds.size()); }

  TokenView* tokenView() const { return m_tokens; }
  SamplingPanel* samplingPanel() const { return m_sampling; }
  ModelPicker* modelPicker() const { return m_picker; }
  FillMaskView* fillMaskView() const { return m_fillMask; }
  QSpinBox* fillMaskTopK() const { return m_fillTopK; }
  QPushButton* generateButton() const { return m_generate; }
  QPushButton* stopButton() const { return m_stop; }
  PromptTablePanel* promptTablePanel() const { return m_table; }
  QPushButton* attentionButton() const { return m_attention; }

 signals:
  void modelLoaded(const QString& dir);
  void errorShown(const QString& message);
  void generationStarted();
  void tokenStreamed(qint64 index);          // each generated token as it reaches the page
  void tokensAppended(int generatedCount);  // once per UI frame while streaming
  void generationFinished(const QString& finishReason);  // "cancelled" after Stop
  void fillMaskFinished(int masks);
  void attentionRequested(const QString& modelDir, const QString& text);

 private:
  QWidget* buildControls();
  QWidget* buildOutput();
  void startRun(GenerationJob job);
  void setBusy(bool busy);
  void showError(const QString& message);
  void clearError();
  void flushTokens();
  void updateMetrics();
  void applyMode();
  void requestTableLoad(const QString& path);
  GenerationJob tableJob() const;

  void onModelLoaded(const PlaygroundModelInfo& info);
  void onLoadFailed(const QString& dir, const QString& error);
  void onStarted(quint64 run, const IdList& promptIds, const TokenItems& promptTokens,
                 const QString& prefixText);
  void onToken(quint64 run, const StreamedToken& token);
  void onFinished(quint64 run, const GenerationSummary& summary);
  void onFailed(quint64 run, const QString& error);

  QThread* m_thread = nullptr;
  PlaygroundWorker* m_worker = nullptr;
  ModelPicker* m_picker = nullptr;
  SamplingPanel* m_sampling = nullptr;
  QGroupBox* m_samplingBox = nullptr;
  QGroupBox* m_fillBox = nullptr;
  QSpinBox* m_fillTopK = nullptr;
  QPlainTextEdit* m_prompt = nullptr;
  QLabel* m_promptLabel = nullptr;
  QStackedWidget* m_promptStack = nullptr;
  PromptTablePanel* m_table = nullptr;
  QPushButton *m_generate = nullptr, *m_stop = nullptr, *m_attention = nullptr;
  QLabel* m_error = nullptr;
  QLabel* m_metrics = nullptr;
  QStackedWidget* m_outputStack = nullptr;
  QTabWidget* m_tabs = nullptr;
  TokenView* m_tokens = nullptr;
  QPlainTextEdit* m_output = nullptr;
  FillMaskView* m_fillMask = nullptr;
  QTimer* m_flushTimer = nullptr;

  Mode m_mode = Mode::Generate;
  PlaygroundModelInfo m_info;
  QString m_projectDir;
  bool m_loading = false;
  quint64 m_nextRun = 1;
  quint64 m_runId = 0;  // the run the page shows; 0 = idle
  std::shared_ptr<std::atomic<bool>> m_cancel;
  QVector<StreamedToken> m_pending;
  std::vector<int32_t> m_promptIds, m_generatedIds;
  QVector<QVector<int>> m_altIds;
  QString m_text;
  QElapsedTimer m_clock;
  qint64 m_firstTokenMs = -1, m_lastTokenMs = -1;
  int m_runTokens = 0;  // tokens this run produced (continuations start at 0)
  QString m_finalMetrics;
  // The table, task and fields of the run shown (empty tablePath: a free prompt), so that a
  // continuation from an alternative uses the prompt it continues, not edited fields.
  GenerationJob m_shownTableRun;
};
