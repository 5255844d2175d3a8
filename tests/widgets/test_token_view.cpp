// TokenView: one chip per item in flow order (wrapping, newlines break the line), chip
// colour by probability, hover shows exactly the item's alternatives, clicking one names
// (token, alternative), prompt chips have no popup, incremental append of thousands of
// tokens keeps earlier chips in place and stays fast; screenshot with the popup open.
#include <QElapsedTimer>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTest>

#include "tests/ui/gui_test_support.h"
#include "widgets/token_alternatives_popup.h"
#include "widgets/token_view.h"

namespace {
TokenItem token(const QString& text, double p, bool prompt = false) {
  TokenItem t;
  t.text = text;
  t.probability = p;
  t.prompt = prompt;
  if (!prompt) t.alternatives = {{text, p}, {" else", (1 - p) * 0.6}, {"\n", (1 - p) * 0.3}};
  return t;
}
}  // namespace

class TestTokenView : public QObject {
  Q_OBJECT
 private slots:
  void flowLayout() {
    TokenView view;
    view.resize(300, 200);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.append({token("The", 1, true), token(" cat", 1, true)});
    view.append({token(" sat", 0.8), token(" on\n", 0.5), token("the", 0.2)});
    QCOMPARE(view.count(), 5);
    QCOMPARE(view.generatedCount(), 3);
    QCOMPARE(view.tokenRect(0).top(), view.tokenRect(2).top());      // one line
    QVERIFY(view.tokenRect(1).left() > view.tokenRect(0).right());
    QVERIFY2(view.tokenRect(4).top() > view.tokenRect(3).bottom(),  // after the newline
             qPrintable(QString("%1 %2 vp %3").arg(view.tokenRect(4).top()).arg(view.tokenRect(3).bottom()).arg(view.viewport()->width())));
    QCOMPARE(view.tokenRect(4).left(), view.tokenRect(0).left());
    QCOMPARE(TokenView::displayText(" on\n"), QString::fromUtf8("·on↵"));
    for (int i = 0; i < 40; ++i) view.append(token(" word", 0.5));  // wraps at the width
    QVERIFY(view.tokenRect(44).bottom() > view.tokenRect(5).bottom());
    for (int i = 0; i < view.count(); ++i) QVERIFY(view.tokenRect(i).right() <= 300);
    QCOMPARE(view.tokenAt(view.tokenRect(3).center()), 3);
    QCOMPARE(view.tokenAt(QPoint(299, 2)), -1);
    view.truncate(3);
    QCOMPARE(view.count(), 3);
    QCOMPARE(view.generatedCount(), 1);
  }

  void colourFollowsProbability() {
    TokenView view;
    const QColor likely = view.chipColor(0.95), unlikely = view.chipColor(0.05);
    QVERIFY(likely.blue() > likely.red() + 30);
    QVERIFY(unlikely.red() > unlikely.blue() + 30);
    view.resize(300, 100);
    view.append({token(" likely", 0.95), token(" unlikely", 0.05)});
    const QImage shot = view.viewport()->grab().toImage();
    const QRect a = view.tokenRect(0), b = view.tokenRect(1);
    const QRgb pa = shot.pixel(a.left() + 2, a.center().y());
    const QRgb pb = shot.pixel(b.left() + 2, b.center().y());
    QCOMPARE(pa & 0xffffff, likely.rgb() & 0xffffff);
    QCOMPARE(pb & 0xffffff, unlikely.rgb() & 0xffffff);
  }

  void hoverAndChoose() {
    TokenView view;
    view.resize(420, 260);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.append({token("Hello", 1, true), token(" world", 0.7), token("!", 0.3)});
    QSignalSpy hovered(&view, &TokenView::tokenHovered);
    QTest::mouseMove(view.viewport(), view.tokenRect(0).center());  // prompt: no popup
    QCOMPARE(view.hoveredIndex(), -1);
    QVERIFY(!view.popupVisible());
    QTest::mouseMove(view.viewport(), view.tokenRect(2).center());
    QCOMPARE(view.hoveredIndex(), 2);
    QCOMPARE(hovered.count(), 1);
    QVERIFY(view.popupVisible());
    const auto shown = view.shownAlternatives();
    QCOMPARE(shown.size(), view.item(2).alternatives.size());
    for (int k = 0; k < shown.size(); ++k) {
      QCOMPARE(shown[k].text, view.item(2).alternatives[k].text);
      QCOMPARE(shown[k].probability, view.item(2).alternatives[k].probability);
    }
    QVERIFY(!view.alternativeRect(1).isEmpty());
    QVERIFY(view.alternativeRect(1).intersects(view.viewport()->rect()));
    QSignalSpy chosen(&view, &TokenView::alternativeChosen);
    QTest::mouseClick(view.popup(), Qt::LeftButton, {},
                      view.popup()->mapFrom(view.viewport(), view.alternativeRect(1).center()));
    QCOMPARE(chosen.count(), 1);
    QCOMPARE(chosen[0][0].toInt(), 2);
    QCOMPARE(chosen[0][1].toInt(), 1);
    QTest::keyClick(&view, Qt::Key_Escape);
    QVERIFY(!view.popupVisible());
    QCOMPARE(view.shownAlternatives().size(), 0);
  }

  void incrementalAppendIsFast() {
    TokenView view;
    view.resize(600, 400);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.append({token(" first", 0.5), token(" second", 0.5)});
    const QRect firstRect = view.tokenRect(1);
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < 4000; ++i) {
      view.append(token(i % 17 == 0 ? QString(".\n") : QString(" tok%1").arg(i % 100), (i % 10) / 10.0));
      if (i % 64 == 0) QCoreApplication::processEvents();  // paint as a stream would
    }
    QCoreApplication::processEvents();
    const qint64 ms = timer.elapsed();
    QVERIFY2(ms < 3000, qPrintable(QString("4000 appends took %1 ms").arg(ms)));
    QCOMPARE(view.count(), 4002);
    // The view followed the stream to the bottom: the last chip is visible.
    QVERIFY(view.viewport()->rect().intersects(view.tokenRect(4001)));
    view.verticalScrollBar()->setValue(0);
    QCOMPARE(view.tokenRect(1), firstRect);  // earlier chips never moved
  }

  void screenshot() {
    TokenView view;
    view.resize(560, 260);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.append({token("Once", 1, true), token(" upon", 1, true), token(" a", 1, true)});
    const double ps[] = {0.92, 0.45, 0.08, 0.66, 0.99, 0.3, 0.75, 0.02, 0.55, 0.88};
    const char* words[] = {" time", ",", " there", " lived", " a", " small\n", "dragon", " who", " loved", " tea"};
    for (int i = 0; i < 10; ++i) view.append(token(words[i], ps[i]));
    view.setHoveredIndex(5);
    QVERIFY(view.popupVisible());
    guitest::saveScreenshot(&view, "token_view_hover");
  }
};

QTEST_MAIN(TestTokenView)
#include "test_token_view.moc"
