// FillMaskView: the playground's fill-mask results: one section per [MASK] with its top
// candidates, a probability bar each and the completed sentence. Plain data in.
#pragma once
#include <QTreeWidget>

#include "ui/playground/playground_worker.h"

class FillMaskView : public QTreeWidget {
  Q_OBJECT
 public:
  explicit FillMaskView(QWidget* parent = nullptr);
  void setResults(const MaskResults& results);
  const MaskResults& results() const { return m_results; }

 private:
  MaskResults m_results;
};
