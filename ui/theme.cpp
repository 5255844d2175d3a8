// Palettes for the two themes. The dark one sets disabled-group colours too,
// otherwise disabled text stays black-on-dark under Fusion.
#include "ui/theme.h"

#include <QApplication>
#include <QStyle>
#include <QStyleFactory>

namespace Theme {

QPalette darkPalette() {
  QPalette p;
  const QColor window(45, 45, 48), base(30, 30, 32), text(220, 220, 222), mid(90, 90, 96);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, QColor(40, 40, 43));
  p.setColor(QPalette::ToolTipBase, window);
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::PlaceholderText, QColor(140, 140, 145));
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, QColor(55, 55, 60));
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, QColor(255, 90, 90));
  p.setColor(QPalette::Light, QColor(70, 70, 75));
  p.setColor(QPalette::Midlight, QColor(60, 60, 65));
  p.setColor(QPalette::Mid, mid);
  p.setColor(QPalette::Dark, QColor(25, 25, 27));
  p.setColor(QPalette::Shadow, QColor(0, 0, 0));
  p.setColor(QPalette::Highlight, QColor(42, 130, 218));
  p.setColor(QPalette::HighlightedText, QColor(255, 255, 255));
  p.setColor(QPalette::Link, QColor(90, 160, 240));
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    p.setColor(QPalette::Disabled, role, QColor(120, 120, 125));
  p.setColor(QPalette::Disabled, QPalette::Highlight, QColor(70, 70, 75));
  return p;
}

QPalette lightPalette() {
  QStyle* fusion = QStyleFactory::create("Fusion");
  QPalette p = fusion ? fusion->standardPalette() : QPalette();
  delete fusion;
  return p;
}

void apply(const QString& name) {
  if (qApp->style()->name().compare("fusion", Qt::CaseInsensitive) != 0)
    QApplication::setStyle(QStyleFactory::create("Fusion"));
  QApplication::setPalette(name == "dark" ? darkPalette() : lightPalette());
}

}  // namespace Theme
