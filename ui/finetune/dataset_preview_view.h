// DatasetPreviewView: what the chosen training file holds before anything is trained:
// a summary line (examples, labels, truncation at max-len), the first rows, the label
// (or entity-type) histogram and the length histogram. Fed with lw::api::DatasetPreview.
#pragma once
#include <QWidget>

#include "engine/api/finetune.h"

class BarChart;
class QLabel;
class QTableWidget;

class DatasetPreviewView : public QWidget {
  Q_OBJECT
 public:
  explicit DatasetPreviewView(QWidget* parent = nullptr);

  void setPreview(const lw::api::DatasetPreview& preview);
  void setError(const QString& message);
  void setPlaceholder(const QString& message);

  int rowCount() const;
  int labelBarCount() const;
  int lengthBarCount() const;
  QString summary() const;

 private:
  void showClassify(const lw::train::ClassifyPreview& p);
  void showNer(const lw::train::NerPreview& p);
  void setLengths(const lw::train::LengthHistogram& h, const QString& unit);

  QLabel* m_summary = nullptr;
  QTableWidget* m_rows = nullptr;
  BarChart* m_labels = nullptr;
  BarChart* m_lengths = nullptr;
};
