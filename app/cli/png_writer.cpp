// PNG encoding (signature, IHDR, IDAT, IEND; filter 0 on every row) and the viridis table.
#include "app/cli/png_writer.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace lwcli {
namespace {

void put_u32(std::string* out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(char((v >> s) & 0xff));
}

void put_chunk(std::string* out, const char* type, const std::string& data) {
  put_u32(out, uint32_t(data.size()));
  std::string body(type, 4);
  body += data;
  out->append(body);
  put_u32(out, uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
}

// widgets/color_scale.cpp's viridis anchors (matplotlib), interpolated linearly in sRGB.
std::array<uint32_t, 241> make_viridis() {
  static const uint32_t a[] = {0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c,
                               0x22a884, 0x44bf70, 0x7ad151, 0xbddf26, 0xfde725};
  const int segments = 10;
  std::array<uint32_t, 241> lut{};
  for (int i = 0; i < 241; ++i) {
    const double x = double(i) / 240 * segments;
    const int k = std::min(int(x), segments - 1);
    const double f = x - k;
    uint32_t c = 0;
    for (int s = 16; s >= 0; s -= 8) {
      const int p = int((a[k] >> s) & 0xff), q = int((a[k + 1] >> s) & 0xff);
      c |= uint32_t(std::lround(p + (q - p) * f)) << s;
    }
    lut[size_t(i)] = c;
  }
  return lut;
}

// 3x5 glyphs, one row per entry, bit 2 = left column.
const uint8_t* glyph(char ch) {
  static const uint8_t kDigits[10][5] = {
      {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
      {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};
  static const uint8_t kL[5] = {4, 4, 4, 4, 7}, kH[5] = {5, 5, 7, 5, 5};
  if (ch >= '0' && ch <= '9') return kDigits[ch - '0'];
  if (ch == 'L') return kL;
  if (ch == 'H') return kH;
  return nullptr;
}

}  // namespace

int draw_label(RgbImage* image, int x, int y, const std::string& text, int scale, uint32_t rgb24) {
  int cx = x;
  for (char ch : text) {
    if (const uint8_t* g = glyph(ch))
      for (int r = 0; r < 5; ++r)
        for (int c = 0; c < 3; ++c)
          if (g[r] & (4 >> c)) image->fill_rect(cx + c * scale, y + r * scale, scale, scale, rgb24);
    cx += 4 * scale;
  }
  return cx - x - scale;
}

RgbImage::RgbImage(int w, int h, uint32_t fill) : width(w), height(h), rgb(size_t(w) * h * 3) {
  fill_rect(0, 0, w, h, fill);
}

void RgbImage::set(int x, int y, uint32_t c) {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  uint8_t* p = &rgb[(size_t(y) * width + x) * 3];
  p[0] = uint8_t(c >> 16);
  p[1] = uint8_t(c >> 8);
  p[2] = uint8_t(c);
}

uint32_t RgbImage::get(int x, int y) const {
  const uint8_t* p = &rgb[(size_t(y) * width + x) * 3];
  return uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2];
}

void RgbImage::fill_rect(int x, int y, int w, int h, uint32_t c) {
  for (int yy = std::max(0, y); yy < std::min(height, y + h); ++yy)
    for (int xx = std::max(0, x); xx < std::min(width, x + w); ++xx) set(xx, yy, c);
}

std::string encode_png(const RgbImage& image) {
  const size_t row = size_t(image.width) * 3;
  std::string raw;
  raw.reserve((row + 1) * image.height);
  for (int y = 0; y < image.height; ++y) {
    raw.push_back('\0');  // filter type 0 (none)
    raw.append(reinterpret_cast<const char*>(image.rgb.data()) + y * row, row);
  }
  uLongf packed_size = compressBound(uLong(raw.size()));
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()), 6) != Z_OK)
    return {};
  packed.resize(packed_size);
  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32(&ihdr, uint32_t(image.width));
  put_u32(&ihdr, uint32_t(image.height));
  ihdr +=
      std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit, RGB, deflate, no filter set, no interlace
  put_chunk(&out, "IHDR", ihdr);
  put_chunk(&out, "IDAT", packed);
  put_chunk(&out, "IEND", "");
  return out;
}

uint32_t viridis(double t) {
  static const std::array<uint32_t, 241> lut = make_viridis();
  if (!(t > 0)) return lut[0];
  if (t >= 1) return lut[240];
  return lut[size_t(t * 240 + 0.5)];
}

}  // namespace lwcli
