// ColorScale: lookup tables interpolated linearly (in sRGB) between anchor
// colours taken from matplotlib's viridis and ColorBrewer's Blues and RdBu.
#include "widgets/color_scale.h"

#include <QColor>
#include <algorithm>
#include <cmath>
#include <vector>

namespace {

std::vector<QRgb> anchors(ColorScaleKind kind) {
  switch (kind) {
    case ColorScaleKind::Viridis:
      return {0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c,
              0x22a884, 0x44bf70, 0x7ad151, 0xbddf26, 0xfde725};
    case ColorScaleKind::Blues:
      return {0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
              0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
    case ColorScaleKind::Diverging:  // RdBu reversed: negative blue, zero white, positive red
      return {0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7,
              0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b, 0x67001f};
  }
  return {0x000000, 0xffffff};
}

}  // namespace

ColorScale::ColorScale(ColorScaleKind kind) : m_kind(kind) {
  const std::vector<QRgb> a = anchors(kind);
  const int segments = int(a.size()) - 1;
  for (int i = 0; i < kSize; ++i) {
    const double x = double(i) / (kSize - 1) * segments;
    const int k = std::min(int(x), segments - 1);
    const double f = x - k;
    auto mix = [f](int p, int q) { return int(std::lround(p + (q - p) * f)); };
    m_lut[i] = qRgb(mix(qRed(a[k]), qRed(a[k + 1])), mix(qGreen(a[k]), qGreen(a[k + 1])),
                    mix(qBlue(a[k]), qBlue(a[k + 1])));
  }
}

QRgb ColorScale::at(double t) const {
  if (!(t > 0)) return m_lut[0];  // also NaN
  if (t >= 1) return m_lut[kSize - 1];
  return m_lut[int(t * (kSize - 1) + 0.5)];
}

QRgb ColorScale::map(double v, double lo, double hi) const {
  if (!(hi > lo)) return at(0.5);
  return at((v - lo) / (hi - lo));
}

QList<double> ColorScale::niceTicks(double lo, double hi, int target) {
  QList<double> ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(hi > lo) || target < 1) {
    if (std::isfinite(lo)) ticks.append(lo);
    return ticks;
  }
  const double raw = (hi - lo) / target;
  const int e = int(std::floor(std::log10(raw)));
  double m = 10;
  for (double c : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (c * std::pow(10.0, e) >= raw) {
      m = c;
      break;
    }
  }
  // Tick k is k·m·10^e, computed as an exact multiple divided by an exact power
  // of ten, so 0.6 prints as 0.6 rather than 0.6000000000000001.
  const double p10 = std::pow(10.0, std::abs(e));
  auto tick = [&](long k) { return e < 0 ? k * m / p10 : k * m * p10; };
  const double step = tick(1);
  for (long k = long(std::ceil(lo / step - 1e-9)); tick(k) <= hi + step * 1e-9; ++k)
    ticks.append(tick(k));
  return ticks;
}

QRgb ColorScale::contrastText(QRgb bg) {
  auto lin = [](int c) {
    const double s = c / 255.0;
    return s <= 0.04045 ? s / 12.92 : std::pow((s + 0.055) / 1.055, 2.4);
  };
  const double y = 0.2126 * lin(qRed(bg)) + 0.7152 * lin(qGreen(bg)) + 0.0722 * lin(qBlue(bg));
  // Contrast against black (y+0.05)/0.05 vs white 1.05/(y+0.05): equal at y ≈ 0.179.
  return y > 0.179 ? qRgb(0, 0, 0) : qRgb(255, 255, 255);
}
