// PlaygroundWorker: the playground's engine session, living in its own QThread so the GUI
// thread never waits on a load, a generation or a fill-mask. Requests come in through
// queued invocations; results leave through queued signals tagged with the request's run
// id, so the page can drop what arrives from a run it already stopped. Each generation
// carries its own cancel flag, polled by the engine before every forward.
#pragma once
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/api/generate.h"
#include "ui/playground/prompt_table_panel.h"
#include "widgets/token_view.h"

namespace lw::train {
struct PromptTable;
}

struct PlaygroundModelInfo {
  QString dir, architecture, family, dtype, device;
  qint64 parameters = 0;
  qint64 weightBytes = 0;   // compute values plus f32 masters
  qint64 kvCacheBytes = 0;  // one sequence at the full context (0: no KV cache)
  qint64 maxPositions = 0;
  bool causalLm = false, maskedLm = false;
  QString tokenizer;       // one line on the tokenizer, or why there is none
  bool hasTokenizer = false;
};

// One generated token as the page needs it: the view's chip plus the ids behind it.
struct StreamedToken {
  qint64 index = 0;  // among this run's generated tokens
  int id = -1;
  TokenItem item;
  QVector<int> alternativeIds;  // parallel to item.alternatives
  QString text;                 // text released with this token (may be empty: held back)
};

struct GenerationJob {
  quint64 runId = 0;
  QString promptText;            // encoded when promptIds is empty
  std::vector<int32_t> promptIds;  // the original prompt (set for a continuation)
  std::vector<int32_t> prefixIds;  // kept generated tokens + the chosen alternative
  lw::SamplingParams params;
  std::shared_ptr<std::atomic<bool>> cancel;
  // With a prompt table: the prompt is `task`'s template filled from `fields` (promptText is
  // not used; promptIds only marks a continuation), its virtual tokens from the table.
  QString tablePath, task;
  std::map<std::string, std::string> fields;
};

struct GenerationSummary {
  QString finish;  // "eos", "length", "stop", "cancelled" ...
  qint64 tokens = 0;
  double timeToFirstTokenS = 0, decodeTokensPerS = 0, prefillTokensPerS = 0;
  qint64 kvCacheBytes = 0;
};

struct MaskCandidateRow {
  QString token, sequence;
  double probability = 0;
};
struct MaskResultRow {
  qint64 position = 0;
  QVector<MaskCandidateRow> candidates;
};
using MaskResults = QVector<MaskResultRow>;
using TokenItems = QVector<TokenItem>;
using IdList = QVector<int>;

Q_DECLARE_METATYPE(PlaygroundModelInfo)
Q_DECLARE_METATYPE(StreamedToken)
Q_DECLARE_METATYPE(GenerationJob)
Q_DECLARE_METATYPE(GenerationSummary)
Q_DECLARE_METATYPE(MaskResults)

class PlaygroundWorker : public QObject {
  Q_OBJECT
 public:
  PlaygroundWorker();
  ~PlaygroundWorker() override;
  static void registerTypes();

  // These run in the worker thread (QMetaObject::invokeMethod, queued).
  void probeDevices();
  void load(const QString& dir, const QString& device, const QString& dtype);
  void generate(const GenerationJob& job);
  void fillMask(quint64 runId, const QString& text, int topK);
  // Loads a prompt table (or PEFT adapter folder) for the loaded model, once: generation
  // with the same path reuses it. A table of another model fails with the engine's message.
  void loadTable(const QString& path);

 signals:
  void devicesFound(const QStringList& devices);  // "cpu", then "cuda:N" per GPU
  void modelLoaded(const PlaygroundModelInfo& info);
  void loadFailed(const QString& dir, const QString& error);
  // The run's prompt as chips (fresh runs) and the text of the kept prefix (continuations).
  void generationStarted(quint64 runId, const IdList& promptIds, const TokenItems& promptTokens,
                         const QString& prefixText);
  void tokenGenerated(quint64 runId, const StreamedToken& token);
  void generationFinished(quint64 runId, const GenerationSummary& summary);
  void generationFailed(quint64 runId, const QString& error);
  void fillMaskDone(quint64 runId, const MaskResults& results);
  void fillMaskFailed(quint64 runId, const QString& error);
  void tableLoaded(const QString& path, const PromptTableTasks& tasks);
  void tableFailed(const QString& path, const QString& error);

 private:
  QString tokenText(int32_t id) const;
  StreamedToken toStreamed(const lw::StreamEvent& e) const;
  lw::GenerateCallbacks streamCallbacks(const GenerationJob& job);
  void finish(const GenerationJob& job, const lw::Result<lw::GenerateResult>& r);
  void generateWithTable(const GenerationJob& job);
  lw::Status ensureTable(const QString& path);

  std::unique_ptr<lw::api::PlaygroundModel> m_model;
  std::unique_ptr<lw::train::PromptTable> m_table;  // for m_model, read from m_tablePath
  QString m_tablePath;
};
