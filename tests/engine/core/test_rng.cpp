// Philox4x32-10 against the published known-answer vectors (Random123's
// kat_vectors), and the properties dropout relies on: positions are independent
// of call order, uniforms lie in [0, 1), and the stream's moments are right.
#include <QtTest>

#include <cmath>

#include "engine/core/rng.h"

using namespace lw;

class TestRng : public QObject {
  Q_OBJECT
 private slots:
  void known_answers_data() {
    QTest::addColumn<QList<uint>>("ctr");
    QTest::addColumn<QList<uint>>("key");
    QTest::addColumn<QList<uint>>("expect");
    QTest::newRow("zeros") << QList<uint>{0, 0, 0, 0} << QList<uint>{0, 0}
                           << QList<uint>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    QTest::newRow("ones") << QList<uint>{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}
                          << QList<uint>{0xffffffff, 0xffffffff}
                          << QList<uint>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
    QTest::newRow("pi") << QList<uint>{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}
                        << QList<uint>{0xa4093822, 0x299f31d0}
                        << QList<uint>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
  }
  void known_answers() {
    QFETCH(QList<uint>, ctr);
    QFETCH(QList<uint>, key);
    QFETCH(QList<uint>, expect);
    Philox4 c{{ctr[0], ctr[1], ctr[2], ctr[3]}};
    Philox4 r = philox4x32_10(c, key[0], key[1]);
    for (int i = 0; i < 4; ++i) QCOMPARE(uint(r.v[i]), expect[i]);
  }

  void bits_come_from_blocks() {
    // Position 4k+j is word j of block k under key = seed.
    uint64_t seed = 0x0123456789abcdefull;
    for (uint64_t k : {0ull, 1ull, 12345ull, (1ull << 33) + 7}) {
      Philox4 r = philox4x32_10(Philox4{{uint32_t(k), uint32_t(k >> 32), 0, 0}},
                                uint32_t(seed), uint32_t(seed >> 32));
      for (int j = 0; j < 4; ++j) QCOMPARE(philox_bits(seed, 4 * k + j), r.v[j]);
    }
    QVERIFY(philox_bits(1, 0) != philox_bits(2, 0));
  }

  void uniform_range_and_moments() {
    double sum = 0.0, sum2 = 0.0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
      float u = philox_uniform(42, i);
      QVERIFY(u >= 0.0f && u < 1.0f);
      sum += u;
      sum2 += double(u) * u;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    QVERIFY2(std::fabs(mean - 0.5) < 0.005, qPrintable(QString::number(mean)));
    QVERIFY2(std::fabs(var - 1.0 / 12) < 0.002, qPrintable(QString::number(var)));
    QCOMPARE(bits_to_uniform(0xFFFFFFFFu), 16777215.0f / 16777216.0f);
  }

  void stream_normal_and_below() {
    PhiloxStream s(7);
    double sum = 0.0, sum2 = 0.0;
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
      double x = s.normal();
      QVERIFY(std::isfinite(x));
      sum += x;
      sum2 += x * x;
    }
    QVERIFY(std::fabs(sum / n) < 0.02);
    QVERIFY(std::fabs(sum2 / n - 1.0) < 0.03);
    QCOMPARE(s.counter(), uint64_t(2 * n));
    PhiloxStream a(9), b(9);
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < 3000; ++i) {
      uint64_t x = a.below(3);
      QCOMPARE(x, b.below(3));  // reproducible
      QVERIFY(x < 3);
      ++counts[x];
    }
    for (int c : counts) QVERIFY(c > 850 && c < 1150);
  }
};

QTEST_GUILESS_MAIN(TestRng)
#include "test_rng.moc"
