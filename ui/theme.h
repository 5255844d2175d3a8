// Light and dark themes: the Fusion style with a full palette, so every widget
// (and MetricPlot, which follows its palette) switches together.
#pragma once
#include <QPalette>
#include <QString>

namespace Theme {
QPalette darkPalette();
QPalette lightPalette();
void apply(const QString& name);  // "dark" or anything else for light
}  // namespace Theme
