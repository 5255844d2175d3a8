#include "widgets/column_spin_box.h"

#include <QRegularExpression>

ColumnSpinBox::ColumnSpinBox(QWidget* parent) : QSpinBox(parent) {}

QString ColumnSpinBox::textFromValue(int value) const {
  if (value >= 0) return QString::number(value);
  if (value == -1) return tr("last");
  return tr("last - %1").arg(-value - 1);
}

bool ColumnSpinBox::parse(const QString& text, int* value) const {
  const QString t = text.trimmed();
  bool ok = false;
  const int n = t.toInt(&ok);
  if (ok) {
    *value = n;
    return true;
  }
  static const QRegularExpression last(QStringLiteral("^last\\s*(?:[-\\x{2212}]\\s*(\\d+))?$"),
                                       QRegularExpression::CaseInsensitiveOption);
  const QRegularExpressionMatch m = last.match(t);
  if (!m.hasMatch()) return false;
  *value = -1 - (m.captured(1).isEmpty() ? 0 : m.captured(1).toInt());
  return true;
}

int ColumnSpinBox::valueFromText(const QString& text) const {
  int v = value();
  parse(text, &v);
  return v;
}

QValidator::State ColumnSpinBox::validate(QString& text, int&) const {
  int v = 0;
  if (parse(text, &v)) return v >= minimum() && v <= maximum() ? QValidator::Acceptable
                                                               : QValidator::Intermediate;
  // A prefix of something valid while typing: "l", "las", "last -", "-".
  const QString t = text.trimmed().toLower();
  if (t.isEmpty() || t == "-" || QStringLiteral("last").startsWith(t) ||
      QRegularExpression(QStringLiteral("^last\\s*[-\\x{2212}]?\\s*$")).match(t).hasMatch())
    return QValidator::Intermediate;
  return QValidator::Invalid;
}
