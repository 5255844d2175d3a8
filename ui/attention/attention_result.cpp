// AttentionResult helpers: one head, or the mean over the kept heads, as heatmap values.
#include "ui/attention/attention_result.h"

QVector<float> AttentionResult::headValues(int layerSlice, int headSlice) const {
  const qsizetype TT = qsizetype(capture.n_tok) * capture.n_tok;
  if (headSlice < 0) {
    const std::vector<float> avg = capture.head_average(layerSlice);
    return QVector<float>(avg.begin(), avg.end());
  }
  const float* p =
      capture.probs.data() + (qsizetype(layerSlice) * capture.n_head() + headSlice) * TT;
  return QVector<float>(p, p + TT);
}
