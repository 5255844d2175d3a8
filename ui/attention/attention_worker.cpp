// AttentionWorker: model loading, capture and preparation off the GUI thread. Thumbnails are
// mean-pooled to at most kThumbCells per side here, so a grid of 144 heads of 512 tokens costs
// the GUI thread a few milliseconds of colour mapping instead of 37 million cells.
#include "ui/attention/attention_worker.h"

#include <QElapsedTimer>
#include <algorithm>

namespace {

// Mean over the unmasked cells of each block; a block with none stays masked.
HeatmapCells pooled(const float* v, const QVector<quint8>& mask, int T, int side) {
  HeatmapCells out;
  out.rows = out.cols = side;
  out.values.fill(0.0f, side * side);
  out.mask.fill(1, side * side);
  QVector<int> count(side * side, 0);
  for (int q = 0; q < T; ++q) {
    const int r = q * side / T;
    for (int k = 0; k < T; ++k) {
      if (mask[q * T + k]) continue;
      const int i = r * side + k * side / T;
      out.values[i] += v[qsizetype(q) * T + k];
      ++count[i];
    }
  }
  for (int i = 0; i < side * side; ++i)
    if (count[i]) {
      out.values[i] /= float(count[i]);
      out.mask[i] = 0;
    }
  return out;
}

}  // namespace

AttentionWorker::AttentionWorker(QObject* parent) : QObject(parent) {}
AttentionWorker::~AttentionWorker() = default;

AttentionResultPtr AttentionWorker::prepare(lw::api::AttentionCapture capture,
                                            const QString& modelDir) {
  QElapsedTimer timer;
  timer.start();
  auto r = std::make_shared<AttentionResult>();
  r->capture = std::move(capture);
  r->modelDir = modelDir;
  const auto& c = r->capture;
  const int T = int(c.n_tok);
  for (const auto& t : c.tokens) r->tokens << QString::fromStdString(t);
  r->mask.resize(qsizetype(T) * T);
  for (int q = 0; q < T; ++q)
    for (int k = 0; k < T; ++k) r->mask[q * T + k] = c.masked(q, k) ? 1 : 0;
  const int side = std::min(T, AttentionResult::kThumbCells);
  r->maxWeight = 0;
  for (float v : c.probs) r->maxWeight = std::max(r->maxWeight, v);
  if (!(r->maxWeight > 0)) r->maxWeight = 1;
  for (int li = 0; li < r->layers(); ++li)
    for (int hi = 0; hi < r->heads(); ++hi) {
      const float* v = c.probs.data() + (qsizetype(li) * r->heads() + hi) * T * T;
      if (side == T) {
        HeatmapCells cells{T, T, QVector<float>(v, v + qsizetype(T) * T), r->mask};
        r->thumbs.append(std::move(cells));
      } else {
        r->thumbs.append(pooled(v, r->mask, T, side));
      }
    }
  r->prepareMs = double(timer.nsecsElapsed()) / 1e6;
  return r;
}

void AttentionWorker::run(const AttentionJob& job) {
  if (!m_model || m_modelDir != job.modelDir) {
    emit progress(tr("Loading %1…").arg(job.modelDir));
    m_model.reset();
    auto m = lw::api::load_attention_model(job.modelDir.toStdString());
    if (!m.is_ok()) {
      emit failed(QString::fromStdString(m.status().message()));
      return;
    }
    m_model = std::move(*m);
    m_modelDir = job.modelDir;
  }
  emit progress(tr("Capturing attention…"));
  lw::api::AttentionRequest req;
  req.text = job.text.toStdString();
  req.ids.assign(job.ids.begin(), job.ids.end());
  req.layers.assign(job.layers.begin(), job.layers.end());
  req.heads.assign(job.heads.begin(), job.heads.end());
  req.memory_budget_bytes = job.budgetBytes;
  auto c = lw::api::capture_attention(*m_model, req);
  if (!c.is_ok()) {
    emit failed(QString::fromStdString(c.status().message()));
    return;
  }
  emit progress(tr("Preparing views…"));
  emit finished(prepare(std::move(*c), job.modelDir));
}
