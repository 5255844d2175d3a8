// ColorScale: the colour maps of the heatmap views, as 241-entry lookup tables
// built from published anchor colours (viridis, ColorBrewer Blues and RdBu), so
// that mapping a value is one table read on the render thread. Sequential maps
// suit attention weights and counts; the diverging one suits signed differences.
#pragma once
#include <QList>
#include <QRgb>
#include <array>

enum class ColorScaleKind { Viridis, Blues, Diverging };

class ColorScale {
 public:
  explicit ColorScale(ColorScaleKind kind = ColorScaleKind::Viridis);

  ColorScaleKind kind() const { return m_kind; }
  bool isDiverging() const { return m_kind == ColorScaleKind::Diverging; }
  // t is clamped to [0, 1]; NaN maps to 0.
  QRgb at(double t) const;
  // v in [lo, hi] mapped linearly; lo == hi maps everything to the middle.
  QRgb map(double v, double lo, double hi) const;

  // About `target` round tick values (1, 2, 2.5, 5 × 10^k) inside [lo, hi].
  static QList<double> niceTicks(double lo, double hi, int target = 5);
  // Black or white, whichever reads better on `background` (WCAG luminance).
  static QRgb contrastText(QRgb background);

 private:
  ColorScaleKind m_kind;
  // 241 entries: 240 is divisible by the anchor segment counts (10 and 8), so
  // every anchor colour is exactly in the table.
  static constexpr int kSize = 241;
  std::array<QRgb, kSize> m_lut{};
};
