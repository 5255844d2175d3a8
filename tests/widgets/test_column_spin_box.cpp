// ColumnSpinBox (widgets/column_spin_box.h): negative values read from the end of the row.
#include <QLineEdit>
#include <QtTest>

#include "widgets/column_spin_box.h"

class TestColumnSpinBox : public QObject {
  Q_OBJECT
 private slots:
  void showsFromTheEnd() {
    ColumnSpinBox box;
    box.setRange(-10, 20);
    box.setValue(-1);
    QCOMPARE(box.text(), QString("last"));
    box.setValue(-3);
    QCOMPARE(box.text(), QString("last - 2"));
    box.setValue(0);
    QCOMPARE(box.text(), QString("0"));
    box.setValue(4);
    QCOMPARE(box.text(), QString("4"));
    box.stepDown();
    QCOMPARE(box.value(), 3);
    box.setValue(0);
    box.stepDown();
    QCOMPARE(box.text(), QString("last"));
  }

  void typedText() {
    ColumnSpinBox box;
    box.setRange(-10, 20);
    box.show();
    QLineEdit* edit = box.findChild<QLineEdit*>();
    QVERIFY(edit);
    const struct { const char* typed; int value; } cases[] = {
        {"last", -1}, {"last - 2", -3}, {"LAST-1", -2}, {"7", 7}, {"-4", -4}};
    for (const auto& c : cases) {
      edit->selectAll();
      QTest::keyClicks(edit, c.typed);
      box.interpretText();
      QCOMPARE(box.value(), c.value);
    }
    // Not a column: refused as typed, the value stays.
    box.setValue(2);
    edit->selectAll();
    QTest::keyClicks(edit, "x");
    box.interpretText();
    QCOMPARE(box.value(), 2);
    // Out of range is never taken: typing "last - 30" stops at its last value in range
    // ("last - 3", as any spin box does with keyboard tracking).
    edit->selectAll();
    QTest::keyClicks(edit, "last - 30");
    box.interpretText();
    QCOMPARE(box.value(), -4);
  }
};

QTEST_MAIN(TestColumnSpinBox)
#include "test_column_spin_box.moc"
