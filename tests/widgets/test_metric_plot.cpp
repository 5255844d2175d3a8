// MetricPlot on its own, fed with plain series: overlay and panels, legend,
// EMA smoothing (values and the raw curves behind), log axes, hover read-out,
// theme colours. Saves a screenshot of a realistic plot.
#include <QMouseEvent>
#include <QSignalSpy>
#include <QTest>
#include <qcustomplot.h>

#include "tests/ui/gui_test_support.h"
#include "widgets/metric_plot.h"

namespace {

PlotSeries makeSeries(const QString& name, const QString& panel, int n, double scale, unsigned seed) {
  PlotSeries s;
  s.name = name;
  s.panel = panel;
  for (const auto& p : guitest::makeCurves(n, scale, seed)) {
    if (QString::fromStdString(p.name) != panel) continue;
    s.x.append(double(p.step));
    s.y.append(p.value);
  }
  return s;
}

}  // namespace

class TestMetricPlot : public QObject {
  Q_OBJECT
 private slots:
  void emaSmooth_data() {
    QTest::addColumn<QVector<double>>("y");
    QTest::addColumn<double>("weight");
    QTest::addColumn<QVector<double>>("expected");
    QTest::newRow("raw") << QVector<double>{1, 5, 2} << 0.0 << QVector<double>{1, 5, 2};
    // Debiased: the first point equals the data, later points lean on history.
    QTest::newRow("half") << QVector<double>{1, 3} << 0.5 << QVector<double>{1, 1.75 / 0.75};
    QTest::newRow("constant") << QVector<double>{4, 4, 4, 4} << 0.9 << QVector<double>{4, 4, 4, 4};
  }
  void emaSmooth() {
    QFETCH(QVector<double>, y);
    QFETCH(double, weight);
    QFETCH(QVector<double>, expected);
    const QVector<double> got = MetricPlot::emaSmooth(y, weight);
    QCOMPARE(got.size(), expected.size());
    for (int i = 0; i < got.size(); ++i) QVERIFY2(std::abs(got[i] - expected[i]) < 1e-12, qPrintable(QString::number(i)));
  }

  void overlayAndPanels() {
    MetricPlot plot;
    plot.resize(800, 500);
    QCOMPARE(plot.seriesCount(), 0);
    plot.setSeries({makeSeries("#1 a", "train/loss", 100, 1.0, 1), makeSeries("#2 b", "train/loss", 100, 1.3, 2)});
    QCOMPARE(plot.panelCount(), 1);
    QCOMPARE(plot.seriesCount(), 2);
    QCOMPARE(plot.legendItemCount(), 2);
    QCOMPARE(plot.customPlot()->graphCount(), 2);
    // Two metrics: a panel each, one legend entry per run.
    plot.setSeries({makeSeries("#1 a", "train/loss", 100, 1.0, 1), makeSeries("#2 b", "train/loss", 100, 1.3, 2),
                    makeSeries("#1 a", "eval/accuracy", 100, 1.0, 1), makeSeries("#2 b", "eval/accuracy", 100, 1.3, 2)});
    QCOMPARE(plot.panelCount(), 2);
    QCOMPARE(plot.seriesCount(), 4);
    QCOMPARE(plot.legendItemCount(), 2);
    QCOMPARE(plot.legendItemCount(0), 2);  // runs span the panels: one legend, on top
    QCOMPARE(plot.legendItemCount(1), 0);
    // Same run, same colour across panels.
    QCOMPARE(plot.customPlot()->graph(0)->pen().color(), plot.customPlot()->graph(2)->pen().color());
    QVERIFY(plot.customPlot()->graph(0)->pen().color() != plot.customPlot()->graph(1)->pen().color());
  }

  void eachPanelListsItsOwnCurves() {
    // Names that belong to one panel each (a training page's metrics): a legend per panel,
    // none naming a curve drawn elsewhere.
    MetricPlot plot;
    plot.resize(800, 500);
    plot.setSeries({makeSeries("train loss", "loss", 50, 1.0, 1), makeSeries("validation loss", "loss", 50, 1.1, 2),
                    makeSeries("learning rate", "lr", 50, 0.01, 3)});
    QCOMPARE(plot.panelCount(), 2);
    QCOMPARE(plot.legendItemCount(0), 2);
    QCOMPARE(plot.legendItemCount(1), 1);
    QCOMPARE(plot.legendItemCount(), 3);
  }

  void legendAvoidsTheCurves() {
    // A curve rising from bottom left to top right: the legend leaves the top right corner
    // for the top left one, which the curve does not cross.
    MetricPlot plot;
    plot.resize(800, 400);
    plot.show();
    PlotSeries rising;
    rising.name = "train loss";
    rising.panel = "loss";
    for (int i = 0; i <= 100; ++i) rising.x.append(i), rising.y.append(i);
    plot.setSeries({rising});
    QCOMPARE(plot.legendCorner(0), Qt::AlignTop | Qt::AlignLeft);
    PlotSeries falling = rising;
    for (int i = 0; i <= 100; ++i) falling.y[i] = 100 - i;
    plot.setSeries({falling});
    QCOMPARE(plot.legendCorner(0), Qt::AlignTop | Qt::AlignRight);
  }

  void flatCurveGetsARangeOfItsScale() {
    MetricPlot plot;
    plot.resize(600, 300);
    PlotSeries flat;
    flat.name = "dev";
    flat.panel = "eval/accuracy";
    for (int i = 0; i < 5; ++i) flat.x.append(i), flat.y.append(0.0);
    for (int update = 0; update < 3; ++update) {  // the same after every update
      plot.setSeries({flat});
      const QCPRange r = plot.customPlot()->axisRect(0)->axis(QCPAxis::atLeft)->range();
      QVERIFY2(std::abs(r.lower + 0.05) < 1e-9 && std::abs(r.upper - 0.05) < 1e-9,
               qPrintable(QString("%1 .. %2").arg(r.lower).arg(r.upper)));
    }
  }

  void smoothingChangesPlottedValues() {
    MetricPlot plot;
    plot.resize(800, 500);
    PlotSeries s = makeSeries("#1 a", "train/loss", 200, 1.0, 3);
    plot.setSeries({s});
    const QVector<double> raw = plot.plottedValues(0);
    QCOMPARE(raw, s.y);
    QSignalSpy spy(&plot, &MetricPlot::smoothingChanged);
    plot.setSmoothing(0.9);
    QCOMPARE(spy.count(), 1);
    const QVector<double> smooth = plot.plottedValues(0);
    QCOMPARE(smooth.size(), raw.size());
    QVERIFY(smooth != raw);
    QCOMPARE(smooth, MetricPlot::emaSmooth(s.y, 0.9));
    // Smoothing reduces the step-to-step jitter.
    auto jitter = [](const QVector<double>& v) {
      double sum = 0;
      for (int i = 1; i < v.size(); ++i) sum += std::abs(v[i] - v[i - 1]);
      return sum;
    };
    QVERIFY(jitter(smooth) < 0.5 * jitter(raw));
    // The raw curve stays behind the smoothed one, out of the legend.
    QCOMPARE(plot.customPlot()->graphCount(), 2);
    QCOMPARE(plot.legendItemCount(), 1);
    plot.setSmoothing(0);
    QCOMPARE(plot.plottedValues(0), raw);
    QCOMPARE(plot.customPlot()->graphCount(), 1);
  }

  void logAxes() {
    MetricPlot plot;
    plot.resize(800, 500);
    PlotSeries s{"#1", "lr", {0, 1, 2, 3}, {0.0, 0.1, 0.01, -1.0}, {}};
    plot.setSeries({s});
    QCOMPARE(plot.plottedValues(0).size(), 4);
    plot.setLogY(true);
    // Non-positive values cannot be drawn on a log axis: they are left out, not clamped.
    QCOMPARE(plot.plottedValues(0), (QVector<double>{0.1, 0.01}));
    auto* rect = plot.customPlot()->axisRect(0);
    QCOMPARE(rect->axis(QCPAxis::atLeft)->scaleType(), QCPAxis::stLogarithmic);
    plot.setLogX(true);
    QCOMPARE(rect->axis(QCPAxis::atBottom)->scaleType(), QCPAxis::stLogarithmic);
    plot.setLogY(false);
    plot.setLogX(false);
    QCOMPARE(rect->axis(QCPAxis::atLeft)->scaleType(), QCPAxis::stLinear);
    QCOMPARE(plot.plottedValues(0).size(), 4);
  }

  void hoverReadout() {
    MetricPlot plot;
    plot.resize(800, 500);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    PlotSeries s{"#7 run", "train/loss", {0, 10, 20, 30}, {4.0, 3.0, 2.5, 2.0}, {}};
    plot.setSeries({s});
    QSignalSpy spy(&plot, &MetricPlot::pointHovered);
    QCPGraph* g = plot.customPlot()->graph(0);
    const QPointF at(g->keyAxis()->coordToPixel(20), g->valueAxis()->coordToPixel(2.5) + 3);
    QMouseEvent move(QEvent::MouseMove, at, plot.customPlot()->mapToGlobal(at), Qt::NoButton, Qt::NoButton,
                     Qt::NoModifier);
    QApplication::sendEvent(plot.customPlot(), &move);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toString(), QString("#7 run"));
    QCOMPARE(spy.at(0).at(2).toDouble(), 20.0);
    QCOMPARE(spy.at(0).at(3).toDouble(), 2.5);
    QVERIFY2(plot.hoverText().contains("step 20: 2.5"), qPrintable(plot.hoverText()));
    QTest::qWait(50);  // the read-out replots on the event loop (queued replot)
    guitest::saveScreenshot(&plot, "widgets_metric_plot_hover");
    QEvent leave(QEvent::Leave);
    QApplication::sendEvent(plot.customPlot(), &leave);
    QVERIFY(plot.hoverText().isEmpty());
  }

  void followsPalette() {
    MetricPlot plot;
    plot.setSeries({makeSeries("#1 a", "train/loss", 50, 1.0, 1)});
    QPalette dark = plot.palette();
    dark.setColor(QPalette::Text, QColor(230, 230, 230));
    dark.setColor(QPalette::Base, QColor(20, 20, 20));
    plot.setPalette(dark);
    QCOMPARE(plot.customPlot()->axisRect(0)->axis(QCPAxis::atLeft)->labelColor(), QColor(230, 230, 230));
  }

  void screenshot() {
    MetricPlot plot;
    plot.resize(900, 600);
    plot.setSeries({makeSeries("#1 bert-small lr=3e-5", "train/loss", 300, 1.0, 1),
                    makeSeries("#2 bert-small lr=1e-4", "train/loss", 300, 1.25, 2),
                    makeSeries("#3 gpt2-tiny", "train/loss", 300, 0.85, 5),
                    makeSeries("#1 bert-small lr=3e-5", "eval/accuracy", 300, 1.0, 1),
                    makeSeries("#2 bert-small lr=1e-4", "eval/accuracy", 300, 1.25, 2),
                    makeSeries("#3 gpt2-tiny", "eval/accuracy", 300, 0.85, 5)});
    plot.setSmoothing(0.6);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    guitest::saveScreenshot(&plot, "widgets_metric_plot");
  }
};

QTEST_MAIN(TestMetricPlot)
#include "test_metric_plot.moc"
