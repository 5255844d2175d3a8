// The Attention page on a small random-weight GPT-2 with the real GPT-2 tokenizer (and a BERT
// with the real WordPiece vocabulary): the grid has layers x heads thumbnails, a click opens the
// head, the hover read-out equals the captured weight, causal cells are masked, the average and
// rollout views agree with the engine, exports write PNG/SVG/CSV, a 300-token input renders off
// the GUI thread, and a bad folder gives a clear message. Screenshots of every view are saved.
#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFile>
#include <QLineEdit>
#include <QMouseEvent>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <random>

#include "engine/io/hf_config.h"
#include "engine/models/model.h"
#include "tests/ui/gui_test_support.h"
#include "ui/attention/attention_head_panel.h"
#include "ui/attention/attention_model_grid.h"
#include "ui/attention/attention_page.h"
#include "ui/attention/attention_rollout_panel.h"
#include "ui/attention/attention_stats_panel.h"
#include "widgets/attention_lines_view.h"
#include "widgets/heatmap_thumbnail.h"
#include "widgets/heatmap_view.h"

namespace {

const char* kText =
    "The animal didn't cross the street because it was too tired. It lay down and slept.";

// A model folder from a config with random weights (normal, std `scale`; norms at 1) and the
// tokenizer files copied from the shared data.
bool makeModel(const QString& dir, const std::string& config, const QString& tokenizer,
               const QStringList& files, float scale) {
  std::ofstream(dir.toStdString() + "/config.json") << config;
  auto hf = lw::io::HfConfig::read(dir.toStdString() + "/config.json");
  if (!hf.is_ok()) return false;
  auto model = lw::models::create_model(*hf, {});
  if (!model.is_ok()) return false;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, scale);
  for (auto& p : (*model)->params()) {
    float* v = p.value.data<float>();
    const bool norm = p.spec.role == lw::models::Role::kNormWeight;
    for (int64_t i = 0; i < p.value.numel(); ++i) v[i] = norm ? 1.0f : normal(rng);
  }
  if (!(*model)->save(dir.toStdString()).is_ok()) return false;
  for (const QString& f : files)
    if (!QFile::copy(QStringLiteral(LW_SHARED_DATA "/tokenizers/") + tokenizer + "/" + f,
                     dir + "/" + f))
      return false;
  return true;
}

bool waitCapture(AttentionPage& page, QSignalSpy& spy, QString* message) {
  if (!spy.wait(120000)) return false;
  *message = spy.last().at(1).toString();
  return spy.last().at(0).toBool();
}

void waitRendered(HeatmapView* v) {
  if (v->isRenderPending()) {
    QSignalSpy rendered(v, &HeatmapView::rendered);
    QVERIFY(rendered.wait(30000));
  }
}

// Moves the mouse over a heatmap cell the way a user does.
void hoverCell(HeatmapView* v, int row, int col) {
  const QPointF pos = v->cellRect(row, col).center();
  QMouseEvent move(QEvent::MouseMove, pos, v->viewport()->mapToGlobal(pos), Qt::NoButton,
                   Qt::NoButton, Qt::NoModifier);
  QApplication::sendEvent(v->viewport(), &move);
}

QByteArray readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

}  // namespace

class TestAttentionPage : public QObject {
  Q_OBJECT
  QTemporaryDir m_tmp;
  QString m_gpt, m_bert;

 private slots:
  void initTestCase() {
    guitest::isolateSettings(m_tmp.filePath("settings"));
    m_gpt = m_tmp.filePath("gpt2");
    m_bert = m_tmp.filePath("bert");
    QVERIFY(QDir().mkpath(m_gpt) && QDir().mkpath(m_bert));
    QVERIFY(makeModel(
        m_gpt,
        R"({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 50257,
                          "n_positions": 512, "n_embd": 64, "n_layer": 4, "n_head": 4,
                          "bos_token_id": 50256, "eos_token_id": 50256})",
        "gpt2", {"vocab.json", "merges.txt"}, 0.35f));
    QVERIFY(makeModel(
        m_bert,
        R"({"architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": 30522,
                          "hidden_size": 64, "num_hidden_layers": 3, "num_attention_heads": 4,
                          "intermediate_size": 128, "max_position_embeddings": 128})",
        "bert-base-uncased", {"vocab.txt"}, 0.35f));
    std::ofstream((m_bert + "/tokenizer_config.json").toStdString())
        << R"({"do_lower_case": true})";
  }

  void gpt2Views() {
    AttentionPage page;
    page.resize(1280, 860);
    page.show();
    QSignalSpy done(&page, &AttentionPage::captureFinished);
    page.showText(m_gpt, kText);
    QVERIFY(page.isBusy());
    QString msg;
    QVERIFY2(waitCapture(page, done, &msg), qPrintable(msg));
    auto r = page.result();
    QVERIFY(r);
    const auto& c = r->capture;
    QVERIFY(c.causal);
    QVERIFY(c.n_tok > 10);
    QCOMPARE(r->tokens.first(), QStringLiteral("The"));
    QCOMPARE(r->tokens[1], QStringLiteral(" animal"));

    // Model view: layers x heads thumbnails.
    auto* grid = page.modelGrid();
    QCOMPARE(grid->rowCount(), 4);
    QCOMPARE(grid->columnCount(), 4);
    QCOMPARE(grid->cellCount(), 16);
    QVERIFY(!grid->thumbnail(3, 3)->cellImage().isNull());
    QCOMPARE(page.tabs()->currentIndex(), int(AttentionPage::ModelTab));
    QTest::qWait(50);
    guitest::saveScreenshot(&page, "attention_model_view");

    // A click opens that head.
    HeatmapThumbnail* thumb = grid->thumbnail(2, 1);
    QTest::mouseClick(thumb, Qt::LeftButton, {}, thumb->rect().center());
    QCOMPARE(page.tabs()->currentIndex(), int(AttentionPage::HeadTab));
    auto* head = page.headPanel();
    QCOMPARE(head->layerSlice(), 2);
    QCOMPARE(head->headSlice(), 1);
    QVERIFY(thumb->isSelected());
    HeatmapView* map = head->heatmap();
    waitRendered(map);
    QCOMPARE(map->data().rows, int(c.n_tok));
    QCOMPARE(map->data().rowLabels, r->tokens);

    // Hover: the read-out is the captured weight; the causal future is masked, not zero.
    QSignalSpy hovered(map, &HeatmapView::hovered);
    const int q = 9, k = 4;
    hoverCell(map, q, k);
    QCOMPARE(map->hoveredCell(), QPoint(k, q));
    QCOMPARE(hovered.count(), 1);
    QCOMPARE(hovered.last().at(2).toDouble(), double(c.at(2, 1, q, k)));
    QVERIFY2(map->hoverText().contains(QString::asprintf("%.6g", double(c.at(2, 1, q, k)))),
             qPrintable(map->hoverText()));
    hoverCell(map, k, q);
    QVERIFY2(map->hoverText().contains("not applicable"), qPrintable(map->hoverText()));
    QVERIFY(map->data().mask[k * c.n_tok + q]);
    QCOMPARE(map->cellImage().pixel(q, k), heatmapMaskColor());
    hoverCell(map, q, k);

    // The lines view shows the same head; no line into the future.
    AttentionLinesView* lines = head->lines();
    QCOMPARE(lines->lineOpacity(k, q), 0.0);
    int best = 0;  // the key query q attends to most: its line is fully drawn
    for (int j = 1; j <= q; ++j)
      if (c.at(2, 1, q, j) > c.at(2, 1, q, best)) best = j;
    QVERIFY(lines->lineOpacity(q, best) > 0.5);
    QTest::qWait(50);
    guitest::saveScreenshot(&page, "attention_head_view");

    // Exports of the head view: PNG and SVG pictures, the matrix as CSV.
    const QString png = m_tmp.filePath("head.png"), svg = m_tmp.filePath("head.svg"),
                  csv = m_tmp.filePath("head.csv");
    QString error;
    QVERIFY2(page.exportPng(png, &error), qPrintable(error));
    QVERIFY2(page.exportSvg(svg, &error), qPrintable(error));
    QVERIFY2(page.exportCsv(csv, &error), qPrintable(error));
    QImage img(png);
    QVERIFY(img.width() > 200 && img.height() > 200);
    QVERIFY(readAll(svg).contains("<svg"));
    const QList<QByteArray> rows = readAll(csv).split('\n');
    QVERIFY(rows.size() >= c.n_tok + 1);
    QVERIFY2(rows[q + 1].contains(QByteArray(",") +
                                  QString::asprintf("%.9g", double(c.at(2, 1, q, k))).toLatin1()),
             rows[q + 1].constData());

    // Average over heads equals the engine's mean.
    head->averageBox()->setChecked(true);
    QVERIFY(head->isAverage());
    const auto avg = c.head_average(2);
    QCOMPARE(map->data().values[q * c.n_tok + k], avg[size_t(q * c.n_tok + k)]);

    // Rollout: the last layer's rollout from the engine.
    page.tabs()->setCurrentIndex(AttentionPage::RolloutTab);
    HeatmapView* roll = page.rolloutPanel()->heatmap();
    waitRendered(roll);
    const auto fin = c.rollout.final_rollout();
    QCOMPARE(roll->data().values[q * c.n_tok + k], fin[size_t(q * c.n_tok + k)]);
    QTest::qWait(50);
    guitest::saveScreenshot(&page, "attention_rollout");

    page.tabs()->setCurrentIndex(AttentionPage::StatsTab);
    QCOMPARE(page.statsPanel()->entropy()->data().values[2 * 4 + 1], float(c.entropy.at(2, 1)));
    QTest::qWait(50);
    guitest::saveScreenshot(&page, "attention_head_statistics");
    QVERIFY(page.exportCsv(m_tmp.filePath("stats.csv"), &error));
    QVERIFY(readAll(m_tmp.filePath("stats.csv")).startsWith("layer,head,entropy_nats"));

    // Model view CSV: one row per weight of every head.
    page.tabs()->setCurrentIndex(AttentionPage::ModelTab);
    QVERIFY2(page.exportCsv(m_tmp.filePath("all.csv"), &error), qPrintable(error));
    const QList<QByteArray> all = readAll(m_tmp.filePath("all.csv")).trimmed().split('\n');
    QCOMPARE(all.size(), int(16 * c.n_tok * c.n_tok + 1));
    QVERIFY2(page.exportPng(m_tmp.filePath("grid.png"), &error), qPrintable(error));
    QVERIFY(QImage(m_tmp.filePath("grid.png")).width() > 400);
  }

  // BERT: bidirectional (nothing masked), special tokens, chosen layers and heads.
  void bertSelection() {
    AttentionPage page;
    page.resize(1280, 860);
    page.show();
    page.layersEdit()->setText("1-2");
    page.headsEdit()->setText("0,3");
    QSignalSpy done(&page, &AttentionPage::captureFinished);
    page.showText(m_bert, "The cat sat on the mat. It was happy.");
    QString msg;
    QVERIFY2(waitCapture(page, done, &msg), qPrintable(msg));
    auto r = page.result();
    QCOMPARE(r->tokens.first(), QStringLiteral("[CLS]"));
    QCOMPARE(r->tokens.last(), QStringLiteral("[SEP]"));
    QVERIFY(!r->capture.causal);
    QCOMPARE(page.modelGrid()->rowCount(), 2);
    QCOMPARE(page.modelGrid()->columnCount(), 2);
    page.openHead(1, 1);
    HeatmapView* map = page.headPanel()->heatmap();
    waitRendered(map);
    QVERIFY(std::none_of(map->data().mask.begin(), map->data().mask.end(),
                         [](quint8 m) { return m != 0; }));
    QCOMPARE(page.headPanel()->headBox()->currentText(), QStringLiteral("3"));
    hoverCell(map, 0, 2);
    QVERIFY(
        map->hoverText().contains(QString::asprintf("%.6g", double(r->capture.at(1, 1, 0, 2)))));
    QTest::qWait(50);
    guitest::saveScreenshot(&page, "attention_bert_head_view");
  }

  // Hundreds of tokens: capture, thumbnails pooled, the head heatmap rendered off the GUI thread.
  void longInput() {
    AttentionPage page;
    page.resize(1280, 860);
    page.show();
    QString text;
    while (text.size() < 1400) text += QString::fromUtf8(kText) + ' ';
    QSignalSpy done(&page, &AttentionPage::captureFinished);
    QElapsedTimer t;
    t.start();
    page.showText(m_gpt, text);
    QString msg;
    QVERIFY2(waitCapture(page, done, &msg), qPrintable(msg));
    auto r = page.result();
    QVERIFY2(r->tokenCount() >= 256, qPrintable(QString::number(r->tokenCount())));
    QCOMPARE(r->thumbs.first().rows, AttentionResult::kThumbCells);
    page.openHead(3, 2);
    HeatmapView* map = page.headPanel()->heatmap();
    QVERIFY(map->isRenderPending() || !map->cellImage().isNull());
    waitRendered(map);
    QCOMPARE(map->cellImage().width(), r->tokenCount());
    // Long inputs: the line view keeps the strongest keys of each query only.
    int drawn = 0;
    for (int k = 0; k < r->tokenCount(); ++k)
      drawn += page.headPanel()->lines()->lineOpacity(200, k) > 0;
    QVERIFY2(drawn >= 1 && drawn <= AttentionHeadPanel::kTopKeys,
             qPrintable(QString::number(drawn)));
    qInfo("%d tokens: %s; shown in %lld ms", r->tokenCount(), qPrintable(msg), t.elapsed());
    QTest::qWait(50);
    guitest::saveScreenshot(&page, "attention_long_input");
  }

  // The issue's timing: capture + render of 256 tokens on a GPT-2 124M-shape model (12 layers x
  // 12 heads). A measurement, not a check: runs only with LW_ATTENTION_BENCH=1 (slow to build).
  void benchmark256() {
    if (qEnvironmentVariable("LW_ATTENTION_BENCH") != "1")
      QSKIP("set LW_ATTENTION_BENCH=1 to measure");
    const QString dir = m_tmp.filePath("gpt2-124m");
    QVERIFY(QDir().mkpath(dir));
    QVERIFY(makeModel(
        dir,
        R"({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 50257,
                          "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12})",
        "gpt2", {"vocab.json", "merges.txt"}, 0.02f));
    QVector<int> ids;
    for (int i = 0; i < 256; ++i) ids << (i * 7919) % 50000;
    AttentionPage page;
    page.resize(1280, 860);
    page.show();
    QSignalSpy done(&page, &AttentionPage::captureFinished);
    for (int run = 0; run < 2; ++run) {  // the first run also loads the model
      QElapsedTimer t;
      t.start();
      page.showIds(dir, ids);
      QString msg;
      QVERIFY2(waitCapture(page, done, &msg), qPrintable(msg));
      const qint64 shown = t.elapsed();
      QElapsedTimer paint;
      paint.start();
      page.repaint();
      QApplication::processEvents();
      const qint64 gridMs = paint.elapsed();
      paint.restart();
      page.openHead(11, 11);
      waitRendered(page.headPanel()->heatmap());
      page.headPanel()->heatmap()->repaint();
      const qint64 mapMs = paint.elapsed();
      paint.restart();
      page.headPanel()->lines()->repaint();
      const qint64 linesMs = paint.elapsed();
      qInfo(
          "run %d: %s | grid of 144 shown %lld ms after the request, painted in %lld ms; "
          "256x256 head view rendered + painted in %lld ms, its line view painted in %lld ms",
          run, qPrintable(msg), shown, gridMs, mapMs, linesMs);
      page.tabs()->setCurrentIndex(AttentionPage::ModelTab);
    }
    guitest::saveScreenshot(&page, "attention_benchmark_head_view");
  }

  void badInput() {
    AttentionPage page;
    QSignalSpy done(&page, &AttentionPage::captureFinished);
    page.showText(m_tmp.filePath("missing"), "hello");
    QString msg;
    QVERIFY(!waitCapture(page, done, &msg));
    QVERIFY2(msg.contains("does not exist"), qPrintable(msg));
    QCOMPARE(page.statusText(), msg);
    page.headsEdit()->setText("9");
    page.showText(m_gpt, "hello");
    QVERIFY(!waitCapture(page, done, &msg));
    QVERIFY2(msg.contains("head 9 is out of range: the model has 4 heads (0-3)"), qPrintable(msg));
    page.headsEdit()->setText("x");
    page.showText(m_gpt, "hello");
    QCOMPARE(done.count(), 3);  // refused at once, before the worker
    QVERIFY(!done.last().at(0).toBool());
    QVERIFY(!page.exportPng(m_tmp.filePath("none.png"), &msg) &&
            msg.contains("capture attention first"));
  }
};

QTEST_MAIN(TestAttentionPage)
#include "test_attention_page.moc"
