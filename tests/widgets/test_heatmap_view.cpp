// HeatmapView, HeatmapThumbnail and ColorScale on their own: cell colours
// against the colour scale, masked cells, exact hover values, clicks, zoom,
// off-thread rendering of a 512 × 512 map, confusion-matrix annotations, PNG /
// SVG / CSV export (the CSV read back), and screenshots of realistic maps.
#include <QElapsedTimer>
#include <QFile>
#include <QGridLayout>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QWheelEvent>

#include "tests/widgets/heatmap_test_data.h"
#include "widgets/color_scale.h"
#include "widgets/heatmap_render.h"
#include "widgets/heatmap_thumbnail.h"
#include "widgets/heatmap_view.h"

namespace {

// RFC 4180 reader: quoted fields with doubled quotes, commas and newlines.
QList<QStringList> readCsv(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  const QString text = QString::fromUtf8(f.readAll());
  QList<QStringList> rows;
  QStringList row;
  QString field;
  bool quoted = false;
  for (qsizetype i = 0; i < text.size(); ++i) {
    const QChar ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"')
        field += '"', ++i;
      else if (ch == '"')
        quoted = false;
      else
        field += ch;
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      row.append(field), field.clear();
    } else if (ch == '\n') {
      row.append(field), field.clear();
      rows.append(row), row.clear();
    } else {
      field += ch;
    }
  }
  return rows;
}

HeatmapData smallData() {
  HeatmapData d;
  d.rows = 3;
  d.cols = 4;
  d.values = {0.0f,         0.25f, 0.5f,  1.0f, 0.123456789f, 0.75f,
              0.333333343f, 0.9f,  0.05f, 0.6f, 0.45f,        0.2f};
  d.rowLabels = {"r0", "r1", "r2"};
  d.colLabels = {"a", "b", "c", "d"};
  return d;
}

QRgb screenPixel(HeatmapView& view, QPointF pos) {
  return view.viewport()->grab().toImage().pixel(pos.toPoint());
}

}  // namespace

class TestHeatmapView : public QObject {
  Q_OBJECT
 private slots:
  void colorScaleAnchors() {
    QCOMPARE(ColorScale(ColorScaleKind::Viridis).at(0) & 0xffffff, 0x440154u);
    QCOMPARE(ColorScale(ColorScaleKind::Viridis).at(1) & 0xffffff, 0xfde725u);
    QCOMPARE(ColorScale(ColorScaleKind::Diverging).at(0.5) & 0xffffff, 0xf7f7f7u);
    QCOMPARE(ColorScale(ColorScaleKind::Blues).at(0) & 0xffffff, 0xf7fbffu);
    QCOMPARE(ColorScale::niceTicks(0, 1), (QList<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}));
    QCOMPARE(ColorScale::niceTicks(-3, 3), (QList<double>{-2, 0, 2}));
    QCOMPARE(ColorScale::niceTicks(0, 450), (QList<double>{0, 100, 200, 300, 400}));
    QCOMPARE(ColorScale::contrastText(qRgb(0x44, 0x01, 0x54)), qRgb(255, 255, 255));
    QCOMPARE(ColorScale::contrastText(qRgb(0xfd, 0xe7, 0x25)), qRgb(0, 0, 0));
  }

  void cellColours() {
    HeatmapView view;
    view.resize(500, 400);
    view.setValueRange(0, 1);
    QVERIFY(view.setData(smallData()));
    const HeatmapData d = smallData();
    QCOMPARE(view.cellImage().size(), QSize(4, 3));
    const ColorScale scale(ColorScaleKind::Viridis);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) {
        const QRgb want = scale.map(d.values[r * 4 + c], 0, 1);
        QCOMPARE(view.cellImage().pixel(c, r), want);
        // And on screen, at the cell centre (nearest-neighbour scaling).
        QCOMPARE(screenPixel(view, view.cellRect(r, c).center()) & 0xffffff, want & 0xffffff);
      }
    // Auto range spans the data; a diverging scale centres on zero.
    view.setAutoValueRange();
    QCOMPARE(view.rangeMin(), 0.0);
    QCOMPARE(view.rangeMax(), 1.0);
    view.setColorScale(ColorScaleKind::Diverging);
    QCOMPARE(view.rangeMin(), -1.0);
    QCOMPARE(view.cellImage().pixel(0, 0) & 0xffffff, 0xf7f7f7u);  // value 0 → centre white
  }

  void badSizes_data() {
    QTest::addColumn<int>("field");
    QTest::addColumn<QString>("message");
    QTest::newRow("values") << 0 << "HeatmapData.values: 11 values for 3 x 4 = 12 cells";
    QTest::newRow("rowLabels") << 1 << "HeatmapData.rowLabels: 2 labels for 3 rows";
    QTest::newRow("mask") << 2 << "HeatmapData.mask: 5 entries for 12 cells";
    QTest::newRow("annotations") << 3 << "HeatmapData.annotations: 1 entries for 12 cells";
  }
  void badSizes() {
    QFETCH(int, field);
    QFETCH(QString, message);
    HeatmapView view;
    QVERIFY(view.setData(smallData()));
    HeatmapData d = smallData();
    if (field == 0) d.values.removeLast();
    if (field == 1) d.rowLabels.removeLast();
    if (field == 2) d.mask.resize(5);
    if (field == 3) d.annotations = {"x"};
    QString error;
    QVERIFY(!view.setData(d, &error));
    QCOMPARE(error, message);
    QCOMPARE(view.data().values, smallData().values);  // the old data stays
  }

  void hoverReportsExactValue() {
    HeatmapView view;
    view.resize(500, 400);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QVERIFY(view.setData(smallData()));
    QSignalSpy spy(&view, &HeatmapView::hovered);
    QTest::mouseMove(view.viewport(), view.cellRect(1, 0).center().toPoint());
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy[0][0].toInt(), 1);
    QCOMPARE(spy[0][1].toInt(), 0);
    QCOMPARE(spy[0][2].toDouble(), double(0.123456789f));
    QCOMPARE(view.hoveredCell(), QPoint(0, 1));
    QVERIFY2(view.hoverText().contains("r1") && view.hoverText().contains("a") &&
                 view.hoverText().contains("0.123457"),
             qPrintable(view.hoverText()));
    QTest::mouseMove(view.viewport(), view.cellRect(2, 2).center().toPoint());
    QCOMPARE(spy.count(), 2);
    QCOMPARE(spy[1][2].toDouble(), double(0.45f));
  }

  void maskedCellsAreNotValues() {
    HeatmapView view;
    view.resize(500, 500);
    HeatmapData d;
    d.rows = d.cols = 5;
    d.values = QVector<float>(25, 0.7f);
    d.mask = heatmaptest::causalMask(5);
    d.values[0] = 0.0f;  // range [0, 0.7]
    QVERIFY(view.setData(d));
    const ColorScale scale(ColorScaleKind::Viridis);
    QCOMPARE(view.cellImage().pixel(3, 1), heatmapMaskColor());
    QVERIFY(view.cellImage().pixel(3, 1) != scale.map(0.0, 0, 0.7));
    QVERIFY(view.cellImage().pixel(3, 1) != scale.map(0.7, 0, 0.7));
    QCOMPARE(view.cellImage().pixel(1, 3), scale.map(0.7, 0, 0.7));
    // On screen the masked cell is hatched grey, and nowhere a value colour.
    const QImage shot = view.viewport()->grab().toImage();
    const QRect cell = view.cellRect(0, 4).toRect().adjusted(2, 2, -2, -2);
    bool sawHatch = false;
    for (int y = cell.top(); y <= cell.bottom(); ++y)
      for (int x = cell.left(); x <= cell.right(); ++x) {
        const QRgb p = shot.pixel(x, y) & 0xffffff;
        QVERIFY(p == (heatmapMaskColor() & 0xffffff) || qRed(p) == qGreen(p));  // greys only
        sawHatch |= p != (heatmapMaskColor() & 0xffffff);
      }
    QVERIFY(sawHatch);
  }

  void clickEmitsCell() {
    HeatmapView view;
    view.resize(500, 400);
    QVERIFY(view.setData(smallData()));
    QSignalSpy spy(&view, &HeatmapView::clicked);
    QTest::mouseClick(view.viewport(), Qt::LeftButton, {}, view.cellRect(2, 3).center().toPoint());
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy[0][0].toInt(), 2);
    QCOMPARE(spy[0][1].toInt(), 3);
    // Outside the grid: no click.
    QTest::mouseClick(view.viewport(), Qt::LeftButton, {}, QPoint(2, 2));
    QCOMPARE(spy.count(), 1);
  }

  void zoomChangesCellSize() {
    HeatmapView view;
    view.resize(600, 500);
    QVERIFY(view.setData(heatmaptest::attentionData(64)));
    QVERIFY(view.isFitToWindow());
    const QRectF fitLast = view.cellRect(63, 63);
    QVERIFY(view.viewport()->rect().contains(fitLast.toAlignedRect()));  // fit: everything shows
    view.setCellSize(10);
    QCOMPARE(view.cellSize(), 10.0);
    QCOMPARE(view.cellRect(3, 4).width(), 10.0);
    QVERIFY(!view.isFitToWindow());
    view.zoomIn();
    QCOMPARE(view.cellSize(), 12.5);
    QTest::keyClick(&view, Qt::Key_Minus);
    QCOMPARE(view.cellSize(), 10.0);
    QVERIFY(view.horizontalScrollBar()->maximum() > 0);  // 640 px of cells do not fit
    const QPointF at = view.cellRect(5, 5).center();
    QWheelEvent wheel(at, view.viewport()->mapToGlobal(at), QPoint(), QPoint(0, 240), Qt::NoButton,
                      Qt::ControlModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(view.viewport(), &wheel);
    QVERIFY(view.cellSize() > 10.0);
    QCOMPARE(view.cellAt(at), QPoint(5, 5));  // zoom keeps the cell under the cursor
    QTest::keyClick(&view, Qt::Key_0);
    QVERIFY(view.isFitToWindow());
    QCOMPARE(view.cellRect(0, 0).width(), fitLast.width());
  }

  void largeMatrixRendersOffThread() {
    HeatmapView view;
    view.resize(700, 700);
    QVERIFY(view.setData(smallData()));
    const int n = 512;
    HeatmapData d;
    d.rows = d.cols = n;
    d.values.resize(n * n);
    for (int i = 0; i < n * n; ++i) d.values[i] = float((i % n) + (i / n)) / float(2 * n - 2);
    QSignalSpy spy(&view, &HeatmapView::rendered);
    QElapsedTimer timer;
    timer.start();
    QVERIFY(view.setData(d));
    QVERIFY(view.isRenderPending());                 // returned before the image exists
    QCOMPARE(view.cellImage().size(), QSize(4, 3));  // the previous image is still shown
    view.viewport()->grab();                         // painting while pending works
    QVERIFY(spy.wait(10000));
    QVERIFY(!view.isRenderPending());
    QCOMPARE(view.cellImage().size(), QSize(n, n));
    const ColorScale scale(ColorScaleKind::Viridis);
    QCOMPARE(view.cellImage().pixel(0, 0), scale.at(0));
    QCOMPARE(view.cellImage().pixel(n - 1, n - 1), scale.at(1));
    QCOMPARE(view.cellImage().pixel(100, 7), scale.map(d.values[7 * n + 100], 0, 1));
    qInfo("512 x 512: setData returned and rendered in %lld ms", timer.elapsed());
  }

  void annotationsContrast() {
    HeatmapView view;
    view.resize(760, 620);
    view.setColorScale(ColorScaleKind::Blues);
    QVERIFY(view.setData(heatmaptest::confusionData()));
    QVERIFY(view.cellSize() > 40);
    const QImage shot = view.viewport()->grab().toImage();
    // Pixels much lighter (sign +1) or darker (-1) than the cell: the count's glyphs.
    auto count = [&](int r, int c, int sign) {
      int n = 0;
      const QRect rect = view.cellRect(r, c).toRect().adjusted(3, 3, -3, -3);
      const int bg = qGray(view.cellImage().pixel(c, r));
      for (int y = rect.top(); y <= rect.bottom(); ++y)
        for (int x = rect.left(); x <= rect.right(); ++x)
          n += sign * (qGray(shot.pixel(x, y)) - bg) > 80;
      return n;
    };
    // Dark diagonal cells carry light counts, light off-diagonal cells dark ones.
    QVERIFY(count(1, 1, +1) > 5);
    QCOMPARE(count(1, 1, -1), 0);
    QVERIFY(count(0, 6, -1) > 5);
    QCOMPARE(count(0, 6, +1), 0);
  }

  void exportFiles() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    HeatmapView view;
    view.resize(500, 400);
    HeatmapData d = smallData();
    d.colLabels = {"a,b", "say \"hi\"", "Ġ東京", "##ing"};
    d.mask = QVector<quint8>(12, 0);
    d.mask[3] = 1;
    QVERIFY(view.setData(d));
    QString error;
    const QString png = dir.filePath("map.png"), svg = dir.filePath("map.svg"),
                  csv = dir.filePath("map.csv");
    QVERIFY2(view.exportPng(png, 2.0, &error), qPrintable(error));
    QImage image(png);
    QCOMPARE(image.size(), view.renderImage(2.0).size());
    QVERIFY(image.width() > 4 * view.cellSize() * 2);
    QVERIFY2(view.exportSvg(svg, &error), qPrintable(error));
    QFile svgFile(svg);
    QVERIFY(svgFile.open(QIODevice::ReadOnly));
    const QByteArray svgText = svgFile.readAll();
    QVERIFY(svgText.contains("<svg") && svgText.contains("</svg>"));
    QVERIFY2(view.exportCsv(csv, &error), qPrintable(error));
    const QList<QStringList> rows = readCsv(csv);
    QCOMPARE(rows.size(), 4);
    QCOMPARE(rows[0], (QStringList{"", "a,b", "say \"hi\"", "Ġ東京", "##ing"}));
    for (int r = 0; r < 3; ++r) {
      QCOMPARE(rows[r + 1].size(), 5);
      QCOMPARE(rows[r + 1][0], d.rowLabels[r]);
      for (int c = 0; c < 4; ++c) {
        if (d.mask[r * 4 + c]) {
          QCOMPARE(rows[r + 1][c + 1], QString());
          continue;
        }
        bool ok = false;
        QCOMPARE(rows[r + 1][c + 1].toFloat(&ok), d.values[r * 4 + c]);  // exact round trip
        QVERIFY(ok);
      }
    }
    QVERIFY(!view.exportCsv(dir.filePath("no/such/dir/x.csv"), &error));
    QVERIFY2(error.contains("no/such/dir/x.csv"), qPrintable(error));
  }

  void thumbnailClicks() {
    HeatmapThumbnail thumb;
    thumb.resize(80, 96);
    HeatmapCells cells{3, 4, smallData().values, {}};
    QVERIFY(thumb.setCells(cells, ColorScaleKind::Viridis, 0, 1));
    QCOMPARE(thumb.cellImage().size(), QSize(4, 3));
    QCOMPARE(thumb.cellImage().pixel(3, 0), ColorScale().at(1));
    QSignalSpy spy(&thumb, &HeatmapThumbnail::clicked);
    QTest::mouseClick(&thumb, Qt::LeftButton, {}, thumb.mapRect().center().toPoint());
    QCOMPARE(spy.count(), 1);
    QString error;
    QVERIFY(
        !thumb.setCells(HeatmapCells{2, 2, {1, 2, 3}, {}}, ColorScaleKind::Viridis, 0, 0, &error));
    QVERIFY(error.contains("3 values"));
  }

  void screenshots() {
    HeatmapView attention;
    attention.resize(760, 720);
    QVERIFY(attention.setData(heatmaptest::attentionData(24)));
    attention.show();
    QVERIFY(QTest::qWaitForWindowExposed(&attention));
    QTest::mouseMove(attention.viewport(), attention.cellRect(16, 4).center().toPoint());
    heatmaptest::saveScreenshot(&attention, "heatmap_attention_causal");

    // A long input: labels thin out to every k-th token, the map still fits.
    HeatmapView longInput;
    longInput.resize(760, 720);
    QSignalSpy rendered(&longInput, &HeatmapView::rendered);
    HeatmapData d256 = heatmaptest::attentionData(256);
    d256.title = QStringLiteral("Layer 0 · Head 1 (256 tokens)");
    QVERIFY(longInput.setData(d256));
    QVERIFY(rendered.count() == 1 || rendered.wait(10000));
    QVERIFY(longInput.cellSize() < 3);
    heatmaptest::saveScreenshot(&longInput, "heatmap_attention_256");
    longInput.setCellSize(14);
    longInput.scrollToCell(200, 190);
    heatmaptest::saveScreenshot(&longInput, "heatmap_attention_256_zoomed");

    HeatmapView confusion;
    confusion.resize(720, 600);
    confusion.setColorScale(ColorScaleKind::Blues);
    QVERIFY(confusion.setData(heatmaptest::confusionData()));
    heatmaptest::saveScreenshot(&confusion, "heatmap_confusion_matrix");

    QWidget grid;
    grid.setStyleSheet("background: white");
    auto* layout = new QGridLayout(&grid);
    layout->setSpacing(4);
    const int layers = 6, heads = 8, n = 24;
    for (int l = 0; l < layers; ++l)
      for (int h = 0; h < heads; ++h) {
        auto* t = new HeatmapThumbnail(&grid);
        QVERIFY(t->setCells(
            {n, n, heatmaptest::causalAttention(n, 11 + l * heads + h), heatmaptest::causalMask(n)},
            ColorScaleKind::Viridis, 0, 1));
        t->setCaption(QStringLiteral("L%1 H%2").arg(l).arg(h));
        t->setSelected(l == 3 && h == 5);
        layout->addWidget(t, l, h);
      }
    grid.resize(8 * 80, 6 * 94);
    heatmaptest::saveScreenshot(&grid, "heatmap_thumbnail_grid");
  }
};

QTEST_MAIN(TestHeatmapView)
#include "test_heatmap_view.moc"
