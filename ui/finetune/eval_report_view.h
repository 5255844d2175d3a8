// EvalReportView: the evaluation report after a run: headline numbers, then for
// classification the confusion matrix as a heatmap (rows true, columns predicted, counts
// in the cells) beside the per-class precision / recall / F1 table, and for NER the
// per-entity-type table with the overall micro and macro rows. Validation or test split.
#pragma once
#include <QWidget>
#include <optional>

#include "engine/api/finetune.h"

class HeatmapView;
class QComboBox;
class QLabel;
class QTableWidget;

class EvalReportView : public QWidget {
  Q_OBJECT
 public:
  explicit EvalReportView(QWidget* parent = nullptr);

  void setReport(const lw::api::FinetuneReport& report);
  void clear(const QString& message = {});

  HeatmapView* confusionView() const { return m_heatmap; }
  QTableWidget* table() const { return m_table; }
  QString headline() const;

 private:
  void showSplit(int index);
  void showClassify(const lw::train::ClassificationReport& r);
  void showEntities(const lw::train::EntityReport& r);

  lw::api::FinetuneReport m_report;
  QLabel* m_headline = nullptr;
  QComboBox* m_split = nullptr;
  QLabel* m_splitLabel = nullptr;
  HeatmapView* m_heatmap = nullptr;
  QTableWidget* m_table = nullptr;
};
