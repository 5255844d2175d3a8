// PlaygroundWorker: engine calls off the GUI thread, and the conversion of engine results
// (ids, log-probabilities) into the plain data the page and TokenView show.
#include "ui/playground/playground_worker.h"

#include <cmath>

#include "engine/api/prompt_tune.h"
#include "engine/api/system_info.h"

namespace {
QString qs(const std::string& s) { return QString::fromUtf8(s.data(), qsizetype(s.size())); }
QString message(const lw::Status& st) { return qs(st.message()); }
}  // namespace

PlaygroundWorker::PlaygroundWorker() = default;
PlaygroundWorker::~PlaygroundWorker() = default;

void PlaygroundWorker::registerTypes() {
  qRegisterMetaType<PlaygroundModelInfo>();
  qRegisterMetaType<StreamedToken>();
  qRegisterMetaType<GenerationJob>();
  qRegisterMetaType<GenerationSummary>();
  qRegisterMetaType<MaskResults>("MaskResults");
  qRegisterMetaType<TokenItems>("TokenItems");
  qRegisterMetaType<IdList>("IdList");
}

void PlaygroundWorker::probeDevices() {
  const lw::SystemReport report = lw::query_system();
  QStringList devices{"cpu"};
  for (const auto& d : report.cuda_devices) devices << QString("cuda:%1").arg(d.index);
  emit devicesFound(devices);
}

void PlaygroundWorker::load(const QString& dir, const QString& device, const QString& dtype) {
  auto dev = lw::parse_device(device.toStdString());
  if (!dev.is_ok()) return emit loadFailed(dir, message(dev.status()));
  auto dt = lw::parse_dtype(dtype.toStdString());
  if (!dt.is_ok()) return emit loadFailed(dir, message(dt.status()));
  m_model.reset();  // free the old weights before the new ones arrive
  m_table.reset();  // a table belongs to one model
  m_tablePath.clear();
  auto m = lw::api::load_playground_model(dir.toStdString(), {*dev, *dt});
  if (!m.is_ok()) return emit loadFailed(dir, message(m.status()));
  m_model = std::move(*m);
  const lw::models::Model& model = *m_model->model;
  PlaygroundModelInfo info;
  info.dir = dir;
  info.architecture = qs(model.architecture());
  info.family = qs(model.family());
  info.dtype = lw::dtype_name(model.dtype());
  info.device = qs(model.device().to_string());
  info.parameters = model.num_parameters();
  for (const auto& p : model.params())
    info.weightBytes += qint64(p.value.nbytes()) + (p.master.defined() ? qint64(p.master.nbytes()) : 0);
  if (auto kv = model.kv_layout(); kv.is_ok()) {
    info.maxPositions = kv->max_positions;
    info.kvCacheBytes = 2 * kv->n_layer * kv->max_positions * kv->n_kv_head * kv->head_dim *
                        qint64(lw::dtype_size(model.dtype()));
  }
  info.causalLm = model.head() == lw::models::Head::kCausalLm;
  info.maskedLm = model.head() == lw::models::Head::kMaskedLm;
  info.hasTokenizer = m_model->tokenizer != nullptr;
  info.tokenizer = info.hasTokenizer ? qs(m_model->tokenizer->describe())
                                     : qs(m_model->tokenizer_error);
  emit modelLoaded(info);
}

QString PlaygroundWorker::tokenText(int32_t id) const {
  if (!m_model || !m_model->tokenizer) return QString("<%1>").arg(id);
  auto t = m_model->tokenizer->decode({id}, false);
  if (t.is_ok()) return qs(*t);
  auto piece = m_model->tokenizer->id_to_token(id);
  return piece ? qs(*piece) : QString("<%1>").arg(id);
}

StreamedToken PlaygroundWorker::toStreamed(const lw::StreamEvent& e) const {
  StreamedToken s;
  s.index = e.index;
  s.text = qs(e.text);
  const lw::GeneratedToken& t = *e.token;
  s.id = t.id;
  s.item.text = tokenText(t.id);
  s.item.probability = std::exp(double(t.logprob));
  for (const auto& a : t.top) {
    s.item.alternatives.push_back({tokenText(a.id), std::exp(double(a.logprob))});
    s.alternativeIds.push_back(a.id);
  }
  return s;
}

// Streams every generated token (indices after the kept prefix) and polls the job's cancel flag.
lw::GenerateCallbacks PlaygroundWorker::streamCallbacks(const GenerationJob& job) {
  lw::GenerateCallbacks cb;
  const qint64 offset = qint64(job.prefixIds.size());
  const quint64 run = job.runId;
  cb.on_token = [this, offset, run](const lw::StreamEvent& e) {
    if (!e.token) return;
    StreamedToken s = toStreamed(e);
    s.index += offset;
    emit tokenGenerated(run, s);
  };
  auto cancel = job.cancel;
  cb.cancel = [cancel] { return cancel && cancel->load(); };
  return cb;
}

void PlaygroundWorker::finish(const GenerationJob& job, const lw::Result<lw::GenerateResult>& r) {
  if (!r.is_ok()) return emit generationFailed(job.runId, message(r.status()));
  GenerationSummary sum;
  const auto& seq = r->sequences[0];
  sum.finish = lw::finish_reason_name(seq.finish);
  sum.tokens = qint64(seq.tokens.size());
  sum.timeToFirstTokenS = r->timing.time_to_first_token_s;
  sum.decodeTokensPerS = r->timing.decode_tokens_per_s();
  sum.prefillTokensPerS = r->timing.prefill_tokens_per_s();
  sum.kvCacheBytes = qint64(r->kv_cache_bytes);
  emit generationFinished(job.runId, sum);
}

void PlaygroundWorker::generate(const GenerationJob& job) {
  if (!m_model) return emit generationFailed(job.runId, tr("Load a model first."));
  if (!job.tablePath.isEmpty()) return generateWithTable(job);
  std::vector<int32_t> prompt = job.promptIds;
  if (prompt.empty()) {
    auto enc = lw::api::encode_prompt(*m_model, job.promptText.toStdString());
    if (!enc.is_ok()) return emit generationFailed(job.runId, message(enc.status()));
    prompt = std::move(*enc);
  }
  IdList promptIds(prompt.begin(), prompt.end());
  TokenItems promptTokens;
  QString prefixText;
  if (job.promptIds.empty()) {
    for (int32_t id : prompt) promptTokens.push_back({tokenText(id), 1.0, {}, true});
  } else if (m_model->tokenizer && !job.prefixIds.empty()) {
    auto t = m_model->tokenizer->decode(job.prefixIds, true);
    if (t.is_ok()) prefixText = qs(*t);
  }
  emit generationStarted(job.runId, promptIds, promptTokens, prefixText);
  lw::GenerateRequest req;
  std::vector<int32_t> ids = prompt;
  ids.insert(ids.end(), job.prefixIds.begin(), job.prefixIds.end());
  req.prompts = {ids};
  req.params = job.params;
  finish(job, lw::api::generate(*m_model, req, streamCallbacks(job)));
}

lw::Status PlaygroundWorker::ensureTable(const QString& path) {
  if (m_table && m_tablePath == path) return lw::Status::ok();
  m_table.reset();
  m_tablePath.clear();
  if (!m_model) return lw::invalid_argument("Load a model before its prompt table.");
  auto t = lw::api::load_table_for(*m_model, path.toStdString());
  if (!t.is_ok()) return t.status();
  m_table = std::make_unique<lw::train::PromptTable>(std::move(*t));
  m_tablePath = path;
  return lw::Status::ok();
}

void PlaygroundWorker::loadTable(const QString& path) {
  if (const lw::Status st = ensureTable(path); !st.is_ok()) return emit tableFailed(path, message(st));
  PromptTableTasks tasks;
  for (const auto& e : m_table->tasks) {
    PromptTableTask t;
    t.name = qs(e.task.taskname);
    t.promptTemplate = qs(e.task.prompt_template);
    t.answerField = qs(e.task.answer_field);
    t.virtualTokens = e.task.total_virtual_tokens;
    for (const auto& f : e.task.fields())
      if (f != e.task.answer_field) t.fields << qs(f);
    tasks.push_back(t);
  }
  emit tableLoaded(path, tasks);
}

// The table's task formatted as chips ([Vn] for virtual tokens), then generate_with_table with
// the same streaming and cancel as the free prompt; a continuation prefills its kept tokens.
void PlaygroundWorker::generateWithTable(const GenerationJob& job) {
  if (const lw::Status st = ensureTable(job.tablePath); !st.is_ok())
    return emit generationFailed(job.runId, message(st));
  const std::string task = job.task.toStdString();
  IdList promptIds;
  TokenItems promptTokens;
  if (const auto* e = m_table->find(task)) {
    auto fp = lw::api::format_task_prompt(*m_model, e->task, job.fields);
    if (!fp.is_ok()) return emit generationFailed(job.runId, message(fp.status()));
    for (size_t i = 0; i < fp->layout.ids.size(); ++i) {
      const int32_t row = fp->layout.virtual_row[i];
      promptIds.push_back(fp->layout.ids[i]);
      promptTokens.push_back({row >= 0 ? QString("[V%1]").arg(row) : tokenText(fp->layout.ids[i]), 1.0, {}, true});
    }
  }  // else generate_with_table names the tasks the table has
  QString prefixText;
  if (!job.promptIds.empty()) {  // a continuation: the view keeps its chips
    promptTokens.clear();
    if (m_model->tokenizer && !job.prefixIds.empty())
      if (auto t = m_model->tokenizer->decode(job.prefixIds, true); t.is_ok()) prefixText = qs(*t);
  }
  lw::GenerateRequest req;
  req.params = job.params;
  if (!promptIds.isEmpty()) emit generationStarted(job.runId, promptIds, promptTokens, prefixText);
  finish(job, lw::api::generate_with_table(*m_model, *m_table, task, job.fields, req,
                                           streamCallbacks(job), job.prefixIds));
}

void PlaygroundWorker::fillMask(quint64 runId, const QString& text, int topK) {
  if (!m_model) return emit fillMaskFailed(runId, tr("Load a model first."));
  auto preds = lw::api::fill_mask(*m_model, text.toStdString(), topK);
  if (!preds.is_ok()) return emit fillMaskFailed(runId, message(preds.status()));
  MaskResults out;
  for (const auto& p : *preds) {
    MaskResultRow row;
    row.position = p.position;
    for (const auto& c : p.candidates) row.candidates.push_back({qs(c.token), qs(c.sequence), c.prob});
    out.push_back(row);
  }
  emit fillMaskDone(runId, out);
}
