// The report is read from the FinetuneReport the engine returns (the same numbers it
// writes to the run's report JSON), never recomputed here.
#include "ui/finetune/eval_report_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include "widgets/heatmap_view.h"

namespace {
QTableWidgetItem* num(double v, int decimals = 3) {
  auto* item = new QTableWidgetItem(QString::number(v, 'f', decimals));
  item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}
QTableWidgetItem* count(int64_t v) {
  auto* item = new QTableWidgetItem(QString::number(v));
  item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}
}  // namespace

EvalReportView::EvalReportView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout;
  m_headline = new QLabel;
  m_headline->setTextFormat(Qt::RichText);
  m_headline->setWordWrap(true);
  m_split = new QComboBox;
  top->addWidget(m_headline, 1);
  m_splitLabel = new QLabel(tr("Split"));
  top->addWidget(m_splitLabel);
  top->addWidget(m_split);
  layout->addLayout(top);
  auto* split = new QSplitter(Qt::Horizontal);
  m_heatmap = new HeatmapView;
  m_heatmap->setColorScale(ColorScaleKind::Blues);
  m_table = new QTableWidget;
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_table->verticalHeader()->setVisible(false);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  split->addWidget(m_heatmap);
  split->addWidget(m_table);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);
  connect(m_split, &QComboBox::currentIndexChanged, this, &EvalReportView::showSplit);
  clear(tr("The evaluation report appears here when a run ends."));
}

void EvalReportView::clear(const QString& message) {
  m_report = {};
  m_headline->setText(message);
  QSignalBlocker block(m_split);
  m_split->clear();
  m_split->setVisible(false);
  m_splitLabel->setVisible(false);
  m_heatmap->setData(HeatmapData{});
  m_heatmap->setVisible(false);
  m_table->clear();
  m_table->setRowCount(0);
  m_table->setColumnCount(0);
}

QString EvalReportView::headline() const { return m_headline->text(); }

void EvalReportView::setReport(const lw::api::FinetuneReport& report) {
  clear();
  m_report = report;
  QSignalBlocker block(m_split);
  if (report.classify_report || report.entity_report) m_split->addItem(tr("validation"), 0);
  if (report.classify_test_report || report.entity_test_report) m_split->addItem(tr("test"), 1);
  m_split->setVisible(m_split->count() > 1);
  m_splitLabel->setVisible(m_split->count() > 1);
  if (m_split->count() == 0) {
    m_headline->setText(tr("This run has no evaluation report (status: %1).")
                            .arg(QString::fromStdString(report.status)));
    return;
  }
  m_split->setCurrentIndex(0);
  showSplit(0);
}

void EvalReportView::showSplit(int index) {
  const bool test = m_split->itemData(index).toInt() == 1;
  const auto& cls = test ? m_report.classify_test_report : m_report.classify_report;
  const auto& ent = test ? m_report.entity_test_report : m_report.entity_report;
  if (cls) showClassify(*cls);
  else if (ent) showEntities(*ent);
}

void EvalReportView::showClassify(const lw::train::ClassificationReport& r) {
  m_headline->setText(tr("<b>Accuracy %1</b> · macro F1 %2 · weighted F1 %3 · %4 examples · run #%5, %6 steps")
                          .arg(r.accuracy, 0, 'f', 4).arg(r.macro_f1, 0, 'f', 4).arg(r.weighted_f1, 0, 'f', 4)
                          .arg(r.n).arg(m_report.run_id).arg(m_report.steps));
  const int k = int(r.per_class.size());
  HeatmapData d;
  d.rows = d.cols = k;
  d.title = tr("Confusion matrix");
  d.rowAxisTitle = tr("True");
  d.colAxisTitle = tr("Predicted");
  for (const auto& c : r.per_class) d.rowLabels << QString::fromStdString(c.name);
  d.colLabels = d.rowLabels;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) {
      const int64_t v = r.confusion[size_t(i)][size_t(j)];
      d.values << float(v);
      d.annotations << QString::number(v);
    }
  m_heatmap->setData(d);
  m_heatmap->setVisible(true);
  m_heatmap->fitToWindow();
  m_table->clear();
  m_table->setColumnCount(5);
  m_table->setHorizontalHeaderLabels({tr("class"), tr("precision"), tr("recall"), tr("F1"), tr("support")});
  m_table->setRowCount(k);
  for (int i = 0; i < k; ++i) {
    const auto& c = r.per_class[size_t(i)];
    m_table->setItem(i, 0, new QTableWidgetItem(QString::fromStdString(c.name)));
    m_table->setItem(i, 1, num(c.precision));
    m_table->setItem(i, 2, num(c.recall));
    m_table->setItem(i, 3, num(c.f1));
    m_table->setItem(i, 4, count(c.support));
  }
  m_table->resizeColumnsToContents();
  m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
}

void EvalReportView::showEntities(const lw::train::EntityReport& r) {
  m_headline->setText(tr("<b>Entity F1 %1</b> · precision %2 · recall %3 · token accuracy %4 · run #%5, %6 steps")
                          .arg(r.f1, 0, 'f', 4).arg(r.precision, 0, 'f', 4).arg(r.recall, 0, 'f', 4)
                          .arg(r.token_accuracy, 0, 'f', 4).arg(m_report.run_id).arg(m_report.steps));
  m_heatmap->setVisible(false);
  m_table->clear();
  m_table->setColumnCount(7);
  m_table->setHorizontalHeaderLabels({tr("entity type"), tr("precision"), tr("recall"), tr("F1"),
                                      tr("support"), tr("predicted"), tr("correct")});
  const int n = int(r.per_type.size());
  m_table->setRowCount(n + 2);
  auto fill = [this](int row, const QString& name, double p, double rc, double f1, int64_t sup, int64_t pred, int64_t ok) {
    m_table->setItem(row, 0, new QTableWidgetItem(name));
    m_table->setItem(row, 1, num(p));
    m_table->setItem(row, 2, num(rc));
    m_table->setItem(row, 3, num(f1));
    m_table->setItem(row, 4, count(sup));
    m_table->setItem(row, 5, count(pred));
    m_table->setItem(row, 6, count(ok));
  };
  for (int i = 0; i < n; ++i) {
    const auto& t = r.per_type[size_t(i)];
    fill(i, QString::fromStdString(t.name), t.precision, t.recall, t.f1, t.support, t.predicted, t.correct);
  }
  fill(n, tr("micro avg"), r.precision, r.recall, r.f1, r.n_true, r.n_pred, r.n_correct);
  fill(n + 1, tr("macro avg"), r.macro_precision, r.macro_recall, r.macro_f1, r.n_true, r.n_pred, r.n_correct);
  for (int row : {n, n + 1})
    for (int c = 0; c < 7; ++c) {
      QFont f = m_table->item(row, c)->font();
      f.setBold(true);
      m_table->item(row, c)->setFont(f);
    }
  m_table->resizeColumnsToContents();
  m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
}
