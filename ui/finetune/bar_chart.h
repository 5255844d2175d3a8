// BarChart: a small painted bar chart for the dataset preview (label counts, length
// histograms). Horizontal bars with their labels and counts when the bars are named
// categories, vertical bins when they are a histogram. Plain data in, nothing else.
#pragma once
#include <QStringList>
#include <QVector>
#include <QWidget>

class BarChart : public QWidget {
  Q_OBJECT
 public:
  enum class Kind { kCategories, kHistogram };
  explicit BarChart(Kind kind, QWidget* parent = nullptr);

  void setTitle(const QString& title);
  // kCategories: one bar per label. kHistogram: labels are the bins' lower edges.
  void setBars(const QStringList& labels, const QVector<double>& values, const QString& caption = {});
  int barCount() const { return m_values.size(); }
  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  void paintCategories(class QPainter& p, const QRect& area);
  void paintHistogram(class QPainter& p, const QRect& area);

  Kind m_kind;
  QString m_title, m_caption;
  QStringList m_labels;
  QVector<double> m_values;
};
