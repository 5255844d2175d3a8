// A spin box for a column index that may count from the end: 0, 1, 2 ... from the start;
// -1 reads "last", -2 "last - 1" and so on (CoNLL files put the tag in the last column, and a
// bare "-1" in a form means nothing to most users). Typing a number or "last - N" works too.
#pragma once
#include <QSpinBox>

class ColumnSpinBox : public QSpinBox {
  Q_OBJECT
 public:
  explicit ColumnSpinBox(QWidget* parent = nullptr);

 protected:
  QString textFromValue(int value) const override;
  int valueFromText(const QString& text) const override;
  QValidator::State validate(QString& text, int& pos) const override;

 private:
  // The value `text` names, or false when it names none ("last", "last - 2", "3", "-1").
  bool parse(const QString& text, int* value) const;
};
