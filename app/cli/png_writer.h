// A small PNG encoder for llmwb (which links no Qt): 8-bit RGB, one IDAT compressed with zlib,
// CRCs from zlib. Plus the heatmap colour scale of widgets/color_scale (viridis anchor colours
// copied as data, interpolated the same way) so `llmwb attention --out x.png` looks like the GUI.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lwcli {

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // [height, width, 3]
  RgbImage(int w, int h, uint32_t fill = 0xffffff);
  void set(int x, int y, uint32_t rgb24);
  uint32_t get(int x, int y) const;
  void fill_rect(int x, int y, int w, int h, uint32_t rgb24);
};

// Draws digits, 'L', 'H' and spaces in a 3x5 pixel font, each font pixel `scale` pixels
// square, top-left at (x, y); other characters are skipped as spaces. Returns the width drawn.
int draw_label(RgbImage* image, int x, int y, const std::string& text, int scale, uint32_t rgb24);

// The PNG file's bytes; an empty string when zlib fails (it does not for valid sizes).
std::string encode_png(const RgbImage& image);

// Viridis at t in [0, 1] (clamped; NaN maps to 0), 241-entry table as widgets/color_scale.
uint32_t viridis(double t);
// The grey of masked cells, as widgets/heatmap_render's heatmapMaskColor().
constexpr uint32_t kMaskColor = 0xd4d4d4;

}  // namespace lwcli
