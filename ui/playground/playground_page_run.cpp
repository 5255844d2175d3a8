// PlaygroundPage, the run side: checks before a run, the stream of tokens (batched once per
// UI frame), live and final metrics, Stop, and continuing from a clicked alternative.
#include <QFile>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTextCursor>
#include <QTimer>

#include "ui/playground/fill_mask_view.h"
#include "ui/playground/playground_page.h"
#include "ui/playground/prompt_table_panel.h"
#include "ui/playground/sampling_panel.h"
#include "widgets/token_view.h"

namespace {
// Byte offset of the first invalid UTF-8 sequence, or -1 when the bytes are valid UTF-8.
qsizetype firstInvalidUtf8(const QByteArray& b) {
  const auto* s = reinterpret_cast<const unsigned char*>(b.constData());
  const qsizetype n = b.size();
  for (qsizetype i = 0; i < n;) {
    const unsigned c = s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) return i;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    const uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < minimum[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return -1;
}
}  // namespace

void PlaygroundPage::setPrompt(const QString& text) { m_prompt->setPlainText(text); }
QString PlaygroundPage::prompt() const { return m_prompt->toPlainText(); }

bool PlaygroundPage::loadPromptFile(const QString& path) {
  clearError();
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    showError(tr("%1: cannot open the prompt file (%2)").arg(path, f.errorString()));
    return false;
  }
  const QByteArray bytes = f.readAll();
  if (const qsizetype bad = firstInvalidUtf8(bytes); bad >= 0) {
    showError(tr("%1: not valid UTF-8 (byte %2); save the prompt as UTF-8").arg(path).arg(bad));
    return false;
  }
  setPrompt(QString::fromUtf8(bytes));
  return true;
}

void PlaygroundPage::generate() {
  clearError();
  if (isGenerating()) return;
  if (!hasModel() || m_loading) return showError(tr("Load a model first."));
  if (m_mode == Mode::Generate && m_table->isChecked()) {
    if (!m_table->isActive())
      return showError(tr("Load a prompt table (or turn the Prompt table group off): %1")
                           .arg(m_table->statusLabel()->text()));
    GenerationJob job = tableJob();
    job.params = m_sampling->params();
    return startRun(std::move(job));
  }
  if (prompt().isEmpty()) return showError(m_mode == Mode::FillMask
                                               ? tr("Write a text with [MASK] first.")
                                               : tr("The prompt is empty: write something to continue."));
  if (m_mode == Mode::FillMask) {
    m_runId = m_nextRun++;
    setBusy(true);
    m_metrics->setText(tr("filling masks…"));
    QMetaObject::invokeMethod(m_worker, [w = m_worker, run = m_runId, text = prompt(),
                                         k = m_fillTopK->value()] { w->fillMask(run, text, k); },
                              Qt::QueuedConnection);
    return;
  }
  GenerationJob job;
  job.promptText = prompt();
  job.params = m_sampling->params();
  startRun(std::move(job));
}

GenerationJob PlaygroundPage::tableJob() const {
  GenerationJob job;
  job.tablePath = m_table->loadedPath();
  job.task = m_table->currentTask();
  const QMap<QString, QString> fields = m_table->fieldValues();
  for (auto it = fields.begin(); it != fields.end(); ++it) job.fields[it.key().toStdString()] = it.value().toStdString();
  return job;
}

void PlaygroundPage::startRun(GenerationJob job) {
  if (const lw::Status st = job.params.validate(); !st.is_ok())
    return showError(tr("Sampling settings: %1").arg(QString::fromStdString(st.message())));
  m_shownTableRun = GenerationJob{};
  m_shownTableRun.tablePath = job.tablePath;
  m_shownTableRun.task = job.task;
  m_shownTableRun.fields = job.fields;
  job.runId = m_runId = m_nextRun++;
  job.cancel = m_cancel = std::make_shared<std::atomic<bool>>(false);
  m_pending.clear();
  m_runTokens = 0;
  m_firstTokenMs = m_lastTokenMs = -1;
  m_finalMetrics.clear();
  m_clock.start();
  setBusy(true);
  updateMetrics();
  QMetaObject::invokeMethod(m_worker, [w = m_worker, job] { w->generate(job); }, Qt::QueuedConnection);
  emit generationStarted();
}

void PlaygroundPage::onStarted(quint64 run, const IdList& promptIds, const TokenItems& promptTokens,
                               const QString& prefixText) {
  if (run != m_runId) return;
  if (!promptTokens.isEmpty()) {  // a fresh run: the view starts over with the prompt
    m_promptIds.assign(promptIds.begin(), promptIds.end());
    m_generatedIds.clear();
    m_altIds.clear();
    m_tokens->clear();
    m_tokens->append(promptTokens);
  }
  m_text = prefixText;
  m_output->setPlainText(m_text);
}

void PlaygroundPage::onToken(quint64 run, const StreamedToken& token) {
  if (run != m_runId) return;
  const qint64 now = m_clock.elapsed();
  if (m_firstTokenMs < 0) m_firstTokenMs = now;
  m_lastTokenMs = now;
  ++m_runTokens;
  m_pending.push_back(token);
  if (!m_flushTimer->isActive()) m_flushTimer->start();
  emit tokenStreamed(token.index);
}

void PlaygroundPage::flushTokens() {
  if (m_pending.isEmpty()) return;
  QVector<TokenItem> items;
  items.reserve(m_pending.size());
  QString text;
  for (const StreamedToken& t : m_pending) {
    // Only tokens that extend the sequence in order; anything else is a bug upstream.
    if (t.index != qint64(m_generatedIds.size())) continue;
    m_generatedIds.push_back(t.id);
    m_altIds.push_back(t.alternativeIds);
    items.push_back(t.item);
    text += t.text;
  }
  m_pending.clear();
  m_tokens->append(items);
  m_text += text;
  QTextCursor c(m_output->document());
  c.movePosition(QTextCursor::End);
  c.insertText(text);
  updateMetrics();
  emit tokensAppended(int(m_generatedIds.size()));
}

void PlaygroundPage::updateMetrics() {
  if (!m_finalMetrics.isEmpty()) return m_metrics->setText(m_finalMetrics);
  if (m_firstTokenMs < 0) return m_metrics->setText(isGenerating() ? tr("prefill…") : QString());
  const double span = (m_lastTokenMs - m_firstTokenMs) / 1000.0;
  const double rate = m_runTokens > 1 && span > 0 ? (m_runTokens - 1) / span : 0;
  m_metrics->setText(tr("%1 tok/s · first token %2 ms · %3 tokens")
                         .arg(rate, 0, 'f', 1)
                         .arg(m_firstTokenMs)
                         .arg(m_runTokens));
}

QString PlaygroundPage::metricsText() const { return m_metrics->text(); }

void PlaygroundPage::onFinished(quint64 run, const GenerationSummary& s) {
  if (run != m_runId) return;
  flushTokens();
  m_runId = 0;
  m_cancel.reset();
  m_finalMetrics = tr("%1 tok/s · first token %2 ms · prefill %3 tok/s · %4 tokens · %5")
                       .arg(s.decodeTokensPerS, 0, 'f', 1)
                       .arg(s.timeToFirstTokenS * 1000, 0, 'f', 0)
                       .arg(s.prefillTokensPerS, 0, 'f', 0)
                       .arg(s.tokens)
                       .arg(s.finish);
  updateMetrics();
  setBusy(false);
  emit generationFinished(s.finish);
}

void PlaygroundPage::onFailed(quint64 run, const QString& error) {
  if (run != m_runId) return;
  m_flushTimer->stop();
  m_pending.clear();
  m_runId = 0;
  m_cancel.reset();
  m_metrics->clear();
  setBusy(false);
  showError(error);
}

void PlaygroundPage::stop() {
  if (!isGenerating()) return;
  if (m_cancel) m_cancel->store(true);
  m_flushTimer->stop();
  flushTokens();  // what already arrived stays; later tokens of this run are dropped
  m_runId = 0;
  m_cancel.reset();
  m_finalMetrics = metricsText() + tr(" · stopped");
  updateMetrics();
  setBusy(false);
  emit generationFinished(QStringLiteral("cancelled"));
}

void PlaygroundPage::chooseAlternative(int viewIndex, int alt) {
  const int gen = viewIndex - promptTokenCount();
  if (gen < 0 || gen >= int(m_generatedIds.size()) || alt < 0 || alt >= m_altIds[gen].size()) return;
  if (isGenerating()) stop();
  clearError();
  const TokenItem chosenFrom = m_tokens->item(viewIndex);
  TokenItem chosen{chosenFrom.alternatives[alt].text, chosenFrom.alternatives[alt].probability,
                   chosenFrom.alternatives, false};
  const QVector<int> altIds = m_altIds[gen];
  m_generatedIds.resize(gen);
  m_altIds.resize(gen);
  m_generatedIds.push_back(altIds[alt]);
  m_altIds.push_back(altIds);
  m_tokens->truncate(viewIndex);
  m_tokens->append(chosen);
  GenerationJob job = m_shownTableRun;  // a table run continues through the same table
  job.promptIds = m_promptIds;
  job.prefixIds = m_generatedIds;
  job.params = m_sampling->params();
  startRun(std::move(job));
}

void PlaygroundPage::requestAttention() {
  if (!hasModel()) return showError(tr("Load a model first."));
  emit attentionRequested(m_info.dir, prompt() + m_text);
}
