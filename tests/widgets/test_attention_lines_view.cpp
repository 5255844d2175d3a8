// AttentionLinesView: lines follow weights (opacity, drawn or not), hovering a
// token keeps only its lines, clicks name the token; screenshot of a head.
#include <QSignalSpy>
#include <QTest>

#include "tests/widgets/heatmap_test_data.h"
#include "widgets/attention_lines_view.h"

class TestAttentionLinesView : public QObject {
  Q_OBJECT
 private slots:
  void linesFollowWeights() {
    AttentionLinesView view;
    view.resize(400, 200);
    const QStringList t{"a", "b", "c"};
    QVERIFY(view.setData(t, t, {1, 0, 0, 0, 0.5f, 0, 0, 0, 0.25f}));
    QCOMPARE(view.lineOpacity(0, 0), 1.0);
    QCOMPARE(view.lineOpacity(1, 1), 0.5);
    QCOMPARE(view.lineOpacity(0, 1), 0.0);
    const QImage shot = view.grab().toImage();
    const QRgb line = shot.pixel(view.lineMidpoint(0, 0).toPoint());
    QVERIFY(qBlue(line) > qRed(line) + 60);  // the line colour, nearly opaque
    // Between rows 0 and 1 no line passes (weights 0 there).
    const QPointF between = (view.lineMidpoint(0, 0) + view.lineMidpoint(1, 1)) / 2;
    QCOMPARE(shot.pixel(between.toPoint()) & 0xffffff,
             view.palette().color(QPalette::Base).rgb() & 0xffffff);
    QString error;
    QVERIFY(!view.setData(t, {"x"}, {1, 2}, &error));
    QCOMPARE(error, QString("AttentionLinesView: 2 weights for 3 x 1 tokens"));
  }

  void hoverKeepsTokenLines() {
    AttentionLinesView view;
    view.resize(400, 200);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    const QStringList t{"a", "b", "c"};
    QVERIFY(view.setData(t, t, {0.2f, 0.3f, 0.5f, 0.6f, 0.4f, 0, 0.1f, 0.1f, 0.8f}));
    QVERIFY(view.lineOpacity(0, 2) > 0 && view.lineOpacity(1, 0) > 0);
    QSignalSpy spy(&view, &AttentionLinesView::tokenHovered);
    QTest::mouseMove(&view, view.tokenRect(AttentionLinesView::Left, 1).center().toPoint());
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy[0][0].toInt(), int(AttentionLinesView::Left));
    QCOMPARE(spy[0][1].toInt(), 1);
    QCOMPARE(view.lineOpacity(0, 2), 0.0);                          // other rows hidden
    QCOMPARE(view.lineOpacity(1, 0), double(0.6f) / double(0.8f));  // relative to the max
    QTest::mouseMove(&view, view.tokenRect(AttentionLinesView::Right, 2).center().toPoint());
    QCOMPARE(view.hoveredSide(), int(AttentionLinesView::Right));
    QCOMPARE(view.lineOpacity(1, 0), 0.0);
    QVERIFY(view.lineOpacity(2, 2) > 0 && view.lineOpacity(0, 2) > 0);
    QSignalSpy clicks(&view, &AttentionLinesView::tokenClicked);
    QTest::mouseClick(&view, Qt::LeftButton, {},
                      view.tokenRect(AttentionLinesView::Right, 2).center().toPoint());
    QCOMPARE(clicks.count(), 1);
    QCOMPARE(clicks[0][0].toInt(), int(AttentionLinesView::Right));
    QCOMPARE(clicks[0][1].toInt(), 2);
  }

  void screenshot() {
    const int n = 16;
    const QStringList tokens = heatmaptest::tokens24().mid(0, n);
    AttentionLinesView plain, hovered;
    for (AttentionLinesView* v : {&plain, &hovered}) {
      QVERIFY(v->setData(tokens, tokens, heatmaptest::causalAttention(n, 7)));
      v->setTitle(QStringLiteral("Layer 3 · Head 5"));
      v->resize(v->sizeHint());
    }
    hovered.show();
    QVERIFY(QTest::qWaitForWindowExposed(&hovered));
    QTest::mouseMove(&hovered, hovered.tokenRect(AttentionLinesView::Left, 9).center().toPoint());
    QCOMPARE(hovered.hoveredIndex(), 9);
    heatmaptest::saveScreenshot(&plain, "attention_lines_view");
    heatmaptest::saveScreenshot(&hovered, "attention_lines_view_hover");
  }
};

QTEST_MAIN(TestAttentionLinesView)
#include "test_attention_lines_view.moc"
