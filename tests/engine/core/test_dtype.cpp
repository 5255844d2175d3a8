// DType conversions against known bit patterns: round-to-nearest-even at ties,
// subnormals, overflow (Inf for bf16/f16/e5m2, NaN or saturation for e4m3fn),
// NaN, and exhaustive round trips of every finite code of each narrow format.
#include <QtTest>

#include <cmath>
#include <cstring>

#include "engine/core/dtype.h"

using namespace lw;

namespace {
float from_bits(uint32_t u) { return f32_from_bits(u); }
}  // namespace

class TestDType : public QObject {
  Q_OBJECT
 private slots:
  void bf16_data() {
    QTest::addColumn<uint32_t>("f32");
    QTest::addColumn<int>("bf16");
    QTest::newRow("one") << 0x3F800000u << 0x3F80;
    QTest::newRow("pi rounds down") << 0x40490FDBu << 0x4049;
    QTest::newRow("tie to even (stay)") << 0x3F808000u << 0x3F80;
    QTest::newRow("tie to even (up)") << 0x3F818000u << 0x3F82;
    QTest::newRow("above tie") << 0x3F808001u << 0x3F81;
    QTest::newRow("max float overflows") << 0x7F7FFFFFu << 0x7F80;
    QTest::newRow("-inf") << 0xFF800000u << 0xFF80;
    QTest::newRow("-0") << 0x80000000u << 0x8000;
    QTest::newRow("f32 subnormal") << 0x00010000u << 0x0001;
  }
  void bf16() {
    QFETCH(uint32_t, f32);
    QFETCH(int, bf16);
    QCOMPARE(int(f32_to_bf16_bits(from_bits(f32))), bf16);
  }

  void f16_data() {
    QTest::addColumn<float>("value");
    QTest::addColumn<int>("f16");
    QTest::newRow("one") << 1.0f << 0x3C00;
    QTest::newRow("-two") << -2.0f << 0xC000;
    QTest::newRow("0.1") << 0.1f << 0x2E66;
    QTest::newRow("1/3") << (1.0f / 3.0f) << 0x3555;
    QTest::newRow("max") << 65504.0f << 0x7BFF;
    QTest::newRow("below overflow tie") << 65519.0f << 0x7BFF;
    QTest::newRow("overflow tie -> inf") << 65520.0f << 0x7C00;
    QTest::newRow("min normal") << std::ldexp(1.0f, -14) << 0x0400;
    QTest::newRow("min subnormal") << std::ldexp(1.0f, -24) << 0x0001;
    QTest::newRow("half min subnormal ties to 0") << std::ldexp(1.0f, -25) << 0x0000;
    QTest::newRow("1.5 half min subnormal") << std::ldexp(1.5f, -25) << 0x0001;
    QTest::newRow("subnormal tie to even") << std::ldexp(3.0f, -25) << 0x0002;
    QTest::newRow("tie to even at 2048+1") << 2049.0f << 0x6800;
    QTest::newRow("tie to even at 2048+3") << 2051.0f << 0x6802;
    QTest::newRow("inf") << INFINITY << 0x7C00;
    QTest::newRow("nan") << NAN << 0x7E00;
  }
  void f16() {
    QFETCH(float, value);
    QFETCH(int, f16);
    QCOMPARE(int(f32_to_f16_bits(value)), f16);
  }

  void fp8_e4m3_data() {
    QTest::addColumn<float>("value");
    QTest::addColumn<int>("code");
    QTest::addColumn<int>("saturated");
    QTest::newRow("one") << 1.0f << 0x38 << 0x38;
    QTest::newRow("-one") << -1.0f << 0xB8 << 0xB8;
    QTest::newRow("half") << 0.5f << 0x30 << 0x30;
    QTest::newRow("max 448") << 448.0f << 0x7E << 0x7E;
    QTest::newRow("464 ties to 448") << 464.0f << 0x7E << 0x7E;
    QTest::newRow("480 overflows") << 480.0f << 0x7F << 0x7E;
    QTest::newRow("-1e6") << -1e6f << 0xFF << 0xFE;
    QTest::newRow("inf (saturates like __NV_SATFINITE)") << INFINITY << 0x7F << 0x7E;
    QTest::newRow("nan") << NAN << 0x7F << 0x7F;
    QTest::newRow("min subnormal 2^-9") << std::ldexp(1.0f, -9) << 0x01 << 0x01;
    QTest::newRow("2^-10 ties to 0") << std::ldexp(1.0f, -10) << 0x00 << 0x00;
    QTest::newRow("min normal 2^-6") << std::ldexp(1.0f, -6) << 0x08 << 0x08;
    QTest::newRow("1.0625 ties to 1") << 1.0625f << 0x38 << 0x38;
    QTest::newRow("1.1875 ties to 1.25") << 1.1875f << 0x3A << 0x3A;
  }
  void fp8_e4m3() {
    QFETCH(float, value);
    QFETCH(int, code);
    QFETCH(int, saturated);
    QCOMPARE(int(f32_to_fp8_e4m3_bits(value)), code);
    QCOMPARE(int(f32_to_fp8_e4m3_bits(value, true)), saturated);
  }

  void fp8_e5m2_data() {
    QTest::addColumn<float>("value");
    QTest::addColumn<int>("code");
    QTest::newRow("one") << 1.0f << 0x3C;
    QTest::newRow("1.25") << 1.25f << 0x3D;
    QTest::newRow("1.125 ties to 1") << 1.125f << 0x3C;
    QTest::newRow("1.375 ties to 1.5") << 1.375f << 0x3E;
    QTest::newRow("max 57344") << 57344.0f << 0x7B;
    QTest::newRow("61440 ties to inf") << 61440.0f << 0x7C;
    QTest::newRow("min subnormal 2^-16") << std::ldexp(1.0f, -16) << 0x01;
    QTest::newRow("-inf") << -INFINITY << 0xFC;
  }
  void fp8_e5m2() {
    QFETCH(float, value);
    QFETCH(int, code);
    QCOMPARE(int(f32_to_fp8_e5m2_bits(value)), code);
  }

  void decode_known_values() {
    QCOMPARE(bf16_bits_to_f32(0x3F80), 1.0f);
    QCOMPARE(f16_bits_to_f32(0x7BFF), 65504.0f);
    QCOMPARE(f16_bits_to_f32(0x0001), std::ldexp(1.0f, -24));
    QCOMPARE(f16_bits_to_f32(0xFC00), -INFINITY);
    QVERIFY(std::isnan(f16_bits_to_f32(0x7E00)));
    QCOMPARE(fp8_e4m3_bits_to_f32(0x7E), 448.0f);
    QCOMPARE(fp8_e4m3_bits_to_f32(0x01), std::ldexp(1.0f, -9));
    QVERIFY(std::isnan(fp8_e4m3_bits_to_f32(0x7F)));
    QVERIFY(std::isnan(fp8_e4m3_bits_to_f32(0xFF)));
    QCOMPARE(fp8_e4m3_bits_to_f32(0x78), 256.0f);  // S.1111.000 is finite in e4m3fn
    QCOMPARE(fp8_e5m2_bits_to_f32(0x7B), 57344.0f);
    QCOMPARE(fp8_e5m2_bits_to_f32(0x7C), INFINITY);
    QVERIFY(std::isnan(fp8_e5m2_bits_to_f32(0x7E)));
  }

  // Every non-NaN code decodes to a float that encodes back to the same code.
  void exhaustive_round_trips() {
    for (uint32_t c = 0; c < 0x10000; ++c) {
      uint16_t h = static_cast<uint16_t>(c);
      float fb = bf16_bits_to_f32(h);
      if (!std::isnan(fb)) QCOMPARE(int(f32_to_bf16_bits(fb)), int(h));
      float fh = f16_bits_to_f32(h);
      if (!std::isnan(fh)) QCOMPARE(int(f32_to_f16_bits(fh)), int(h));
    }
    for (uint32_t c = 0; c < 0x100; ++c) {
      uint8_t b = static_cast<uint8_t>(c);
      float f4 = fp8_e4m3_bits_to_f32(b);
      if (!std::isnan(f4)) QCOMPARE(int(f32_to_fp8_e4m3_bits(f4)), int(b));
      float f5 = fp8_e5m2_bits_to_f32(b);
      if (!std::isnan(f5)) QCOMPARE(int(f32_to_fp8_e5m2_bits(f5)), int(b));
    }
  }

  // Rounding picks the nearer neighbour: compare with a brute-force search over codes.
  void nearest_code_brute_force() {
    uint64_t s = 12345;
    for (int i = 0; i < 20000; ++i) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      float x = std::ldexp(static_cast<float>((s >> 40) & 0xFFFFFF) / 16777216.0f, int((s >> 20) % 40) - 30);
      uint16_t h = f32_to_f16_bits(x);
      double got = f16_bits_to_f32(h);
      double next_up = f16_bits_to_f32(static_cast<uint16_t>(h + 1));
      double next_dn = h ? f16_bits_to_f32(static_cast<uint16_t>(h - 1)) : got;
      if (std::isinf(got)) continue;
      QVERIFY2(std::fabs(got - x) <= std::fabs(next_up - x) && std::fabs(got - x) <= std::fabs(next_dn - x),
               qPrintable(QString("f16 of %1").arg(double(x), 0, 'g', 10)));
    }
  }

  void names_and_sizes() {
    QCOMPARE(dtype_size(DType::kBF16), size_t(2));
    QCOMPARE(dtype_size(DType::kI64), size_t(8));
    QCOMPARE(dtype_size(DType::kFP8E4M3), size_t(1));
    QCOMPARE(QString(dtype_name(DType::kFP8E5M2)), QString("F8_E5M2"));
    QVERIFY(parse_dtype("bfloat16").is_ok() && *parse_dtype("bfloat16") == DType::kBF16);
    QVERIFY(*parse_dtype("F8_E4M3") == DType::kFP8E4M3);
    auto bad = parse_dtype("float128");
    QVERIFY(!bad.is_ok());
    QVERIFY(bad.status().message().find("float128") != std::string::npos);
  }

  void bulk_conversion() {
    float src[4] = {1.5f, -2.25f, 7.9f, -0.4f};
    int32_t ints[4];
    convert_host(ints, DType::kI32, src, DType::kF32, 4);
    QCOMPARE(ints[2], 7);
    QCOMPARE(ints[3], 0);
    int64_t big[2] = {(1ll << 40) + 1, -3};
    int64_t back[2];
    int32_t mid[2];
    convert_host(mid, DType::kI32, big + 1, DType::kI64, 1);
    QCOMPARE(mid[0], -3);
    convert_host(back, DType::kI64, big, DType::kI64, 2);
    QCOMPARE(back[0], (1ll << 40) + 1);
  }
};

QTEST_GUILESS_MAIN(TestDType)
#include "test_dtype.moc"
