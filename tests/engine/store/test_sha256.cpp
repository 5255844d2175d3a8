// SHA-256 against the FIPS 180-4 / NIST example vectors, chunked updates that
// cross block boundaries, and the file helper.
#include <QtTest>
#include <string>

#include "engine/store/sha256.h"
#include "tests/engine/store/store_test_util.h"

class TestSha256 : public QObject {
  Q_OBJECT
 private slots:
  void vectors_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("hex");
    QTest::newRow("empty") << QByteArray()
        << "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    QTest::newRow("abc") << QByteArray("abc")
        << "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    QTest::newRow("448 bits") << QByteArray("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        << "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
    QTest::newRow("896 bits")
        << QByteArray("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
        << "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1";
    QTest::newRow("million a") << QByteArray(1000000, 'a')
        << "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    QTest::newRow("55 bytes") << QByteArray(55, 'x')  // padding just fits in the last block
        << "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072";
  }
  void vectors() {
    QFETCH(QByteArray, input);
    QFETCH(QString, hex);
    std::string data(input.constData(), size_t(input.size()));
    QCOMPARE(QString::fromStdString(lw::sha256_hex(data)), hex);
    // Same digest when fed in uneven chunks that straddle 64-byte blocks.
    for (size_t chunk : {1u, 7u, 63u, 64u, 65u, 1000u}) {
      lw::Sha256 h;
      for (size_t i = 0; i < data.size(); i += chunk)
        h.update(data.data() + i, std::min(chunk, data.size() - i));
      QCOMPARE(QString::fromStdString(h.hex_digest()), hex);
    }
  }
  void padding_lengths() {
    // Lengths on the padding edges: one-shot and byte-by-byte must agree.
    for (size_t n : {55u, 56u, 57u, 63u, 64u, 119u, 120u}) {
      std::string s(n, 'q');
      lw::Sha256 h;
      for (char c : s) h.update(&c, 1);
      QCOMPARE(lw::sha256_hex(s), h.hex_digest());
    }
    // Known value for 56 bytes of 'a' (crosses into a second padding block).
    QCOMPARE(lw::sha256_hex(std::string(56, 'a')),
             std::string("b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"));
  }
  void file() {
    QTemporaryDir dir;
    std::string path = dir.filePath("f.bin").toStdString();
    storetest::write_bytes(path, "abc");
    auto r = lw::sha256_file(path);
    LW_VERIFY_OK(r);
    QCOMPARE(*r, std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    auto missing = lw::sha256_file(dir.filePath("nope").toStdString());
    QVERIFY(!missing.is_ok());
    QVERIFY(missing.status().message().find("nope") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestSha256)
#include "test_sha256.moc"
