// MetricPlot: a reusable QCustomPlot view of metric curves. Fed with plain
// series (name, panel, x, y); series that share a panel share axes (one panel
// per metric, stacked), series that share a name share a colour and one legend
// entry (one run across panels). It owns its controls (EMA smoothing, log-x,
// log-y, reset view) and the hover read-out; it knows nothing of the engine.
#pragma once
#include <QColor>
#include <QList>
#include <QString>
#include <QVector>
#include <QWidget>

class QCheckBox;
class QCustomPlot;
class QCPAxisRect;
class QCPGraph;
class QCPItemText;
class QCPItemTracer;
class QCPLegend;
class QLabel;
class QMouseEvent;
class QSlider;

struct PlotSeries {
  QString name;          // legend label, e.g. the run ("#12 bert-base")
  QString panel;         // axes it is drawn in, e.g. the metric ("train/loss")
  QVector<double> x, y;  // same length; x ascending (steps)
  QColor color;          // invalid = picked from the palette by name
};

class MetricPlot : public QWidget {
  Q_OBJECT
 public:
  explicit MetricPlot(QWidget* parent = nullptr);

  // Replaces every series; keeps smoothing and log settings, and keeps a view
  // the user has zoomed or dragged unless the panels changed.
  void setSeries(const QList<PlotSeries>& series);
  const QList<PlotSeries>& series() const { return m_series; }
  void setXLabel(const QString& label);
  void setEmptyText(const QString& text);

  double smoothing() const { return m_smoothing; }  // EMA weight in [0, 0.99]
  void setSmoothing(double weight);
  bool logX() const { return m_logX; }
  void setLogX(bool on);
  bool logY() const { return m_logY; }
  void setLogY(bool on);

  int panelCount() const { return m_panels.size(); }
  int seriesCount() const { return m_graphs.size(); }
  int legendItemCount() const;           // all panels
  int legendItemCount(int panel) const;  // the legend inset in one panel
  Qt::Alignment legendCorner(int panel) const;
  // The y values drawn for series i (smoothed, log-filtered): what the user sees.
  QVector<double> plottedValues(int series) const;
  QString hoverText() const;  // the read-out label, empty when hidden
  QCustomPlot* customPlot() const { return m_plot; }

  // Debiased exponential moving average (as TensorBoard): weight 0 = raw.
  static QVector<double> emaSmooth(const QVector<double>& y, double weight);

 signals:
  void pointHovered(const QString& series, const QString& panel, double x, double y);
  void smoothingChanged(double weight);
  void logAxesChanged(bool logX, bool logY);

 protected:
  void changeEvent(QEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void rebuildPanels();
  void rebuildGraphs();
  void applyTheme();
  void rescale();
  bool placeLegends();  // true when a legend moved
  void replotWithLegends();
  void onMouseMove(QMouseEvent* event);
  QColor colorFor(const QString& name);
  QCPAxisRect* rectAt(const QPointF& pos) const;

  QCustomPlot* m_plot = nullptr;
  QSlider* m_smoothSlider = nullptr;
  QLabel* m_smoothLabel = nullptr;
  QCheckBox* m_logXBox = nullptr;
  QCheckBox* m_logYBox = nullptr;

  QList<PlotSeries> m_series;
  QStringList m_panels;              // panel names in display order
  QList<QCPAxisRect*> m_rects;       // one per panel
  QList<QCPGraph*> m_graphs;         // one per series (smoothed)
  QList<QCPGraph*> m_rawGraphs;      // faint raw curves when smoothing > 0
  QList<QCPLegend*> m_legends;  // one inset per panel (only the first used when names span panels)
  QCPItemTracer* m_tracer = nullptr;
  QCPItemText* m_hoverLabel = nullptr;
  QCPItemText* m_emptyLabel = nullptr;
  QStringList m_colorNames;          // series names in order of first colour use
  QString m_xLabel = QStringLiteral("step");
  QString m_emptyText;
  double m_smoothing = 0.0;
  bool m_logX = false, m_logY = false;
  bool m_userView = false;           // the user zoomed/dragged: do not rescale on refresh
};
