// `llmwb attention` on the golden GPT-2 and BERT models with --ids: the safetensors and CSV
// hold transformers' attention probabilities (1e-5 absolute) with the token labels; the PNG is a
// valid file (signature, IHDR size, CRCs, zlib-decoded rows) whose cells have the viridis colour
// of their weight and whose causal-masked cells are grey; bad command lines fail clearly.
#include <zlib.h>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/png_writer.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "tests/app/cli_test_util.h"

using Json = nlohmann::json;

namespace {

std::string golden(const std::string& c) {
  return std::string(LW_SOURCE_DIR) + "/tests/golden/data/" + c;
}

lwtest::CliResult run(const QStringList& args) {
  return lwtest::run_cli(LW_LLMWB_ATTENTION_CLI, args, 120000);
}

std::vector<float> floats(const lw::io::SafeTensorsFile& f, const std::string& name,
                          std::vector<int64_t>* shape = nullptr) {
  const auto* t = f.find(name);
  if (!t) return {};
  if (shape) *shape = t->shape;
  std::vector<float> v(size_t(t->numel));
  if (!lw::io::copy_as_f32(name, t->dtype, f.data(*t), t->numel, v.data()).is_ok()) return {};
  return v;
}

std::vector<int32_t> ints(const lw::io::SafeTensorsFile& f, const std::string& name) {
  const auto* t = f.find(name);
  if (!t) return {};
  std::vector<int32_t> v(size_t(t->numel));
  if (!lw::io::copy_as_i32(name, t->dtype, f.data(*t), t->numel, v.data()).is_ok()) return {};
  return v;
}

// Row b of a [B,T] golden tensor as "1,2,3".
QString row_list(const std::vector<int32_t>& all, int T, int b) {
  QStringList parts;
  for (int t = 0; t < T; ++t) parts << QString::number(all[size_t(b * T + t)]);
  return parts.join(',');
}

std::string read_file(const QString& path) {
  std::ifstream in(path.toStdString(), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint32_t be32(const std::string& s, size_t at) {
  return uint32_t(uint8_t(s[at])) << 24 | uint32_t(uint8_t(s[at + 1])) << 16 |
         uint32_t(uint8_t(s[at + 2])) << 8 | uint8_t(s[at + 3]);
}

struct DecodedPng {
  int width = 0, height = 0;
  std::string rows;  // height x (1 + 3 width), filter byte first
  uint32_t pixel(int x, int y) const {
    const size_t at = size_t(y) * (1 + 3 * size_t(width)) + 1 + 3 * size_t(x);
    return uint32_t(uint8_t(rows[at])) << 16 | uint32_t(uint8_t(rows[at + 1])) << 8 |
           uint8_t(rows[at + 2]);
  }
};

// Walks the chunks (checking every CRC), reads IHDR and inflates the IDAT data.
bool decode_png(const std::string& f, DecodedPng* out, QString* why) {
  if (f.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0)
    return *why = "bad signature", false;
  std::string idat;
  for (size_t at = 8; at + 12 <= f.size();) {
    const uint32_t len = be32(f, at);
    const std::string type = f.substr(at + 4, 4);
    if (at + 12 + len > f.size()) return *why = "truncated chunk", false;
    const uint32_t crc =
        uint32_t(crc32(0, reinterpret_cast<const Bytef*>(f.data() + at + 4), len + 4));
    if (crc != be32(f, at + 8 + len))
      return *why = QString("bad CRC in %1").arg(type.c_str()), false;
    if (type == "IHDR") {
      out->width = int(be32(f, at + 8));
      out->height = int(be32(f, at + 12));
      if (f[at + 16] != 8 || f[at + 17] != 2) return *why = "not 8-bit RGB", false;
    }
    if (type == "IDAT") idat += f.substr(at + 8, len);
    if (type == "IEND") break;
    at += 12 + len;
  }
  uLongf n = uLongf(out->height) * (1 + 3 * uLongf(out->width));
  out->rows.assign(n, '\0');
  if (uncompress(reinterpret_cast<Bytef*>(out->rows.data()), &n,
                 reinterpret_cast<const Bytef*>(idat.data()), uLong(idat.size())) != Z_OK ||
      n != out->rows.size())
    return *why = "IDAT does not inflate to the image size", false;
  return true;
}

}  // namespace

class TestCliAttention : public QObject {
  Q_OBJECT
 private slots:
  void gpt2AllFormats() {
    QTemporaryDir tmp;
    auto batches = lw::io::SafeTensorsFile::open(golden("gpt2") + "/batches.safetensors");
    auto fwd = lw::io::SafeTensorsFile::open(golden("gpt2") + "/forward.safetensors");
    QVERIFY(batches.is_ok() && fwd.is_ok());
    const auto ids = ints(*batches, "batch0.input_ids");
    const int T = 16, H = 4, b = 2;
    const QString st = tmp.filePath("a.safetensors"), csv = tmp.filePath("a.csv"),
                  png = tmp.filePath("a.png");
    auto r = run({"attention", "--model", QString::fromStdString(golden("gpt2") + "/model"),
                  "--ids", row_list(ids, T, b), "--out", st, "--out", csv, "--out", png, "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    const Json j = Json::parse(r.out);
    QCOMPARE(j["n_tok"].get<int>(), T);
    QCOMPARE(j["causal"].get<bool>(), true);
    QCOMPARE(j["shapes"]["attn.1"], Json({H, T, T}));
    QCOMPARE(j["tokens"].size(), size_t(T));
    QVERIFY(j["timing_ms"]["capture"].get<double>() > 0);
    QCOMPARE(j["files"].size(), size_t(3));

    // safetensors: each layer's [H,T,T] is transformers' attn.<layer>[b].
    auto out = lw::io::SafeTensorsFile::open(st.toStdString());
    QVERIFY2(out.is_ok(), out.status().to_string().c_str());
    std::vector<int64_t> shape;
    std::vector<std::vector<float>> ref(2);
    for (int l = 0; l < 2; ++l) {
      const auto ours = floats(*out, "attn." + std::to_string(l), &shape);
      QCOMPARE(shape, (std::vector<int64_t>{H, T, T}));
      const auto all = floats(*fwd, "attn." + std::to_string(l));
      ref[size_t(l)].assign(all.begin() + b * H * T * T, all.begin() + (b + 1) * H * T * T);
      double d = 0;
      for (size_t i = 0; i < ours.size(); ++i)
        d = std::max(d, double(std::fabs(ours[i] - ref[size_t(l)][i])));
      QVERIFY2(d <= 1e-5, std::to_string(d).c_str());
    }
    QVERIFY(out->find("rollout") && out->find("ids"));
    QCOMPARE(ints(*out, "ids"),
             std::vector<int32_t>(ids.begin() + b * T, ids.begin() + (b + 1) * T));
    QCOMPARE(Json::parse(out->metadata().at("tokens")).size(), size_t(T));
    QCOMPARE(out->metadata().at("causal"), std::string("true"));

    // CSV: header, one row per weight, values as printed %.9g.
    std::ifstream in(csv.toStdString());
    std::string line;
    std::getline(in, line);
    QCOMPARE(line, std::string("layer,head,query,key,query_token,key_token,weight"));
    size_t rows = 0;
    bool checked = false;
    while (std::getline(in, line)) {
      ++rows;
      if (line.rfind("1,3,7,2,", 0) == 0) {  // layer 1, head 3, query 7, key 2
        const double w = std::stod(line.substr(line.rfind(',') + 1));
        QVERIFY(std::fabs(w - ref[1][size_t((3 * T + 7) * T + 2)]) <= 1e-5);
        checked = true;
      }
    }
    QCOMPARE(rows, size_t(2 * H * T * T));
    QVERIFY(checked);

    // PNG: a 2 x 4 grid of 16 x 16 tiles; check a cell's colour and a masked cell.
    const Json& p = j["files"][2]["png"];
    DecodedPng img;
    QString why;
    QVERIFY2(decode_png(read_file(png), &img, &why), qPrintable(why));
    QCOMPARE(img.width, p["width"].get<int>());
    QCOMPARE(img.height, p["height"].get<int>());
    const int s = p["cell_px"].get<int>(), gap = p["gap_px"].get<int>();
    const int x0 = p["origin_px"][0].get<int>(), y0 = p["origin_px"][1].get<int>();
    const double hi = p["range"][1].get<double>();
    QVERIFY(s >= 1 && hi > 0 && hi <= 1);
    const int tile = T * s;
    auto cell = [&](int l, int h, int q, int k) {
      return img.pixel(x0 + h * (tile + gap) + k * s + s / 2,
                       y0 + l * (tile + gap) + q * s + s / 2);
    };
    QCOMPARE(cell(1, 3, 7, 2), lwcli::viridis(ref[1][size_t((3 * T + 7) * T + 2)] / hi));
    QCOMPARE(cell(0, 0, 0, 0), lwcli::viridis(1.0 / hi));  // the first query sees only itself
    QCOMPARE(cell(1, 2, 3, 9), lwcli::kMaskColor);         // causal: key after query
    QCOMPARE(img.pixel(0, 0), 0xffffffu);
    QVERIFY(x0 > 8 && y0 > 8);  // room for the L<layer> and H<head> labels
  }

  // One layer and one head give one large map; BERT's padding columns are grey.
  void bertOneHeadWithPadding() {
    QTemporaryDir tmp;
    auto batches = lw::io::SafeTensorsFile::open(golden("bert_cls") + "/batches.safetensors");
    QVERIFY(batches.is_ok());
    const auto ids = ints(*batches, "batch0.input_ids"),
               mask = ints(*batches, "batch0.attention_mask");
    const int T = 16;
    int b = -1, pad = -1;
    for (int r = 0; r < 4 && b < 0; ++r)
      for (int t = 0; t < T; ++t)
        if (mask[size_t(r * T + t)] == 0) {
          b = r;
          pad = t;
          break;
        }
    QVERIFY2(b >= 0, "the golden BERT batch has no padding");
    const QString png = tmp.filePath("h.png");
    auto r = run({"attention", "--model", QString::fromStdString(golden("bert_cls") + "/model"),
                  "--ids", row_list(ids, T, b), "--mask", row_list(mask, T, b), "--layers", "1",
                  "--heads", "2", "--out", png, "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    const Json j = Json::parse(r.out);
    QCOMPARE(j["causal"].get<bool>(), false);
    const Json& p = j["files"][0]["png"];
    const int s = p["cell_px"].get<int>(), m = p["margin_px"].get<int>();
    const int x0 = p["origin_px"][0].get<int>(), y0 = p["origin_px"][1].get<int>();
    QCOMPARE(s, 32);  // 512 px / 16 tokens
    DecodedPng img;
    QString why;
    QVERIFY2(decode_png(read_file(png), &img, &why), qPrintable(why));
    QCOMPARE(img.height, y0 + T * s + m);
    QCOMPARE(img.pixel(x0 + pad * s + 3, y0 + 0 * s + 3), lwcli::kMaskColor);
    QVERIFY(img.pixel(x0 + 0 * s + 3, y0 + 0 * s + 3) != lwcli::kMaskColor);
  }

  void badCommandLines_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");
    const QString model = QString::fromStdString(golden("gpt2") + "/model");
    QTest::newRow("no-out") << QStringList{"--model", model, "--ids", "1,2"} << 2
                            << "--out is required";
    QTest::newRow("bad-ext") << QStringList{"--model", model, "--ids", "1,2", "--out", "x.txt"} << 2
                             << "the extension must be .safetensors, .csv or .png";
    QTest::newRow("both") << QStringList{"--model", model, "--ids", "1",
                                         "--text",  "a",   "--out", "x.csv"}
                          << 2 << "give exactly one of --text and --ids";
    QTest::newRow("layers") << QStringList{"--model",  model, "--ids", "1,2",
                                           "--layers", "0-x", "--out", "x.csv"}
                            << 2 << "--layers: 'x' is not a non-negative integer";
    QTest::newRow("layer-range") << QStringList{"--model",  model, "--ids", "1,2",
                                                "--layers", "5",   "--out", "x.csv"}
                                 << 1 << "layer 5 is out of range: the model has 2 layers (0-1)";
    QTest::newRow("no-tokenizer") << QStringList{"--model", model, "--text", "hi", "--out", "x.csv"}
                                  << 1 << "has no tokenizer";
    QTest::newRow("budget-fits") << QStringList{"--model",
                                                model,
                                                "--ids",
                                                "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,"
                                                "20,21,22,23,24,25,26,27,28,29,30",
                                                "--budget-mib",
                                                "1",
                                                "--out",
                                                "x.csv"}
                                 << 0 << "";
    QTest::newRow("no-model") << QStringList{"--model", "/nonexistent", "--ids",
                                             "1",       "--out",        "x.csv"}
                              << 1 << "model folder /nonexistent does not exist";
  }
  void badCommandLines() {
    QFETCH(QStringList, args);
    QFETCH(int, code);
    QFETCH(QString, message);
    QTemporaryDir tmp;
    for (auto& a : args)
      if (a == "x.csv") a = tmp.filePath(a);
    auto r = run(QStringList{"attention"} + args);
    QCOMPARE(r.code, code);
    QVERIFY2(r.err.find(message.toStdString()) != std::string::npos, r.err.c_str());
  }
};

QTEST_GUILESS_MAIN(TestCliAttention)
#include "test_cli_attention.moc"
