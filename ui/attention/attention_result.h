// AttentionResult: one capture as the Attention page shows it, built on the worker thread:
// the engine's plain capture plus what the views need ready-made (token labels as QStrings,
// the view mask, pooled thumbnail cells per head), so the GUI thread only hands data to widgets.
#pragma once
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>
#include <memory>

#include "engine/api/attention.h"
#include "widgets/heatmap_render.h"

struct AttentionResult {
  lw::api::AttentionCapture capture;
  QString modelDir;
  QStringList tokens;            // [T] labels; special tokens kept as the tokenizer writes them
  QVector<quint8> mask;          // [T*T] 1 = the model cannot attend (padding key, causal future)
  QVector<HeatmapCells> thumbs;  // [L*H] each head pooled to at most kThumbCells per side
  float maxWeight = 1;           // over every captured weight: the grid's shared colour range
  double prepareMs = 0;          // thumbnails and labels on the worker thread

  static constexpr int kThumbCells = 96;
  int layers() const { return int(capture.n_layer()); }
  int heads() const { return int(capture.n_head()); }
  int tokenCount() const { return int(capture.n_tok); }
  // One head's [T*T] weights (or the head average when head < 0) as the heatmap takes them.
  QVector<float> headValues(int layerSlice, int headSlice) const;
};

using AttentionResultPtr = std::shared_ptr<const AttentionResult>;
Q_DECLARE_METATYPE(AttentionResultPtr)
