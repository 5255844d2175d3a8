// AttentionPage: the input bar, the worker thread (one capture at a time; the newest request
// waits while one runs), the four views and export of whichever view is showing.
#include "ui/attention/attention_page.h"

#include <QFileDialog>
#include <QFormLayout>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <cstdio>
#include <tuple>

#include "ui/attention/attention_head_panel.h"
#include "ui/attention/attention_model_grid.h"
#include "ui/attention/attention_rollout_panel.h"
#include "ui/attention/attention_stats_panel.h"
#include "widgets/heatmap_view.h"

namespace {

bool fail(QString* error, const QString& message) {
  if (error) *error = message;
  return false;
}

bool saveText(const QString& path, const QString& text, QString* error) {
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly))
    return fail(error, QObject::tr("%1: cannot write (%2)").arg(path, f.errorString()));
  f.write(text.toUtf8());
  if (!f.commit())
    return fail(error, QObject::tr("%1: cannot write (%2)").arg(path, f.errorString()));
  return true;
}

QString csvField(const QString& s) {
  if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) &&
      !s.contains(QLatin1Char('\n')) && !s.contains(QLatin1Char('\r')) && s.trimmed() == s)
    return s;
  return QLatin1Char('"') + QString(s).replace(QLatin1Char('"'), QStringLiteral("\"\"")) +
         QLatin1Char('"');
}

// Every weight of every captured head, one row each (the CLI's CSV layout). Tens of millions of
// rows for long inputs, so built as bytes and written from a pool thread by the export dialog.
bool writeModelCsv(const AttentionResult& r, const QString& path, QString* error) {
  const auto& c = r.capture;
  QList<QByteArray> tok;
  for (const QString& t : r.tokens) tok << csvField(t).toUtf8();
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly))
    return fail(error, QObject::tr("%1: cannot write (%2)").arg(path, f.errorString()));
  QByteArray chunk("layer,head,query,key,query_token,key_token,weight\n");
  char num[96];
  for (int l = 0; l < r.layers(); ++l)
    for (int h = 0; h < r.heads(); ++h)
      for (int q = 0; q < c.n_tok; ++q) {
        for (int k = 0; k < c.n_tok; ++k) {
          std::snprintf(num, sizeof num, "%lld,%lld,%d,%d,", (long long)c.layers[size_t(l)],
                        (long long)c.heads[size_t(h)], q, k);
          chunk += num;
          chunk += tok[q];
          chunk += ',';
          chunk += tok[k];
          std::snprintf(num, sizeof num, ",%.9g\n", double(c.at(l, h, q, k)));
          chunk += num;
        }
        if (chunk.size() > (1 << 20)) {
          f.write(chunk);
          chunk.clear();
        }
      }
  f.write(chunk);
  if (!f.commit())
    return fail(error, QObject::tr("%1: cannot write (%2)").arg(path, f.errorString()));
  return true;
}

}  // namespace

AttentionPage::AttentionPage(QWidget* parent) : QWidget(parent) {
  qRegisterMetaType<AttentionJob>();
  qRegisterMetaType<AttentionResultPtr>();
  m_model = new QLineEdit;
  m_model->setPlaceholderText(tr("Model folder (config.json, model.safetensors, tokenizer files)"));
  auto* browse = new QPushButton(tr("Browse…"));
  m_text = new QPlainTextEdit;
  m_text->setPlaceholderText(
      tr("Text to look at, e.g. The cat sat on the mat because it was tired."));
  m_text->setFixedHeight(64);
  m_layers = new QLineEdit;
  m_layers->setPlaceholderText(tr("all"));
  m_layers->setToolTip(tr("Layers to capture, e.g. 0,3-5 (empty = all)"));
  m_layers->setMaximumWidth(110);
  m_heads = new QLineEdit;
  m_heads->setPlaceholderText(tr("all"));
  m_heads->setToolTip(tr("Heads to keep, e.g. 0-3 (empty = all)"));
  m_heads->setMaximumWidth(110);
  m_captureButton = new QPushButton(tr("Capture attention"));
  m_captureButton->setDefault(true);
  m_progress = new QProgressBar;
  m_progress->setRange(0, 0);
  m_progress->setMaximumWidth(140);
  m_progress->setVisible(false);
  m_status = new QLabel;
  m_status->setTextFormat(Qt::PlainText);
  m_status->setWordWrap(true);

  auto* form = new QFormLayout;
  auto* modelRow = new QHBoxLayout;
  modelRow->addWidget(m_model, 1);
  modelRow->addWidget(browse);
  form->addRow(tr("Model"), modelRow);
  form->addRow(tr("Text"), m_text);
  auto* runRow = new QHBoxLayout;
  runRow->addWidget(new QLabel(tr("Layers")));
  runRow->addWidget(m_layers);
  runRow->addWidget(new QLabel(tr("Heads")));
  runRow->addWidget(m_heads);
  runRow->addWidget(m_captureButton);
  runRow->addWidget(m_progress);
  runRow->addWidget(m_status, 1);
  form->addRow(QString(), runRow);

  m_grid = new AttentionModelGrid;
  m_head = new AttentionHeadPanel;
  m_rollout = new AttentionRolloutPanel;
  m_stats = new AttentionStatsPanel;
  m_tabs = new QTabWidget;
  m_tabs->addTab(m_grid, tr("Model view"));
  m_tabs->addTab(m_head, tr("Head view"));
  m_tabs->addTab(m_rollout, tr("Rollout"));
  m_tabs->addTab(m_stats, tr("Head statistics"));

  auto* corner = new QWidget;
  auto* cornerRow = new QHBoxLayout(corner);
  cornerRow->setContentsMargins(0, 0, 0, 0);
  auto tool = [&](const QString& text, const QString& tip) {
    auto* b = new QToolButton;
    b->setText(text);
    b->setToolTip(tip);
    cornerRow->addWidget(b);
    return b;
  };
  auto* zoomOut = tool(QStringLiteral("−"), tr("Zoom out"));
  auto* zoomIn = tool(QStringLiteral("+"), tr("Zoom in"));
  auto* png = tool(tr("PNG…"), tr("Export the current view as PNG"));
  auto* svg = tool(tr("SVG…"), tr("Export the current view as SVG"));
  auto* csv = tool(tr("CSV…"), tr("Export the numbers of the current view as CSV"));
  m_tabs->setCornerWidget(corner);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(m_tabs, 1);

  connect(browse, &QPushButton::clicked, this, [this] {
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("Model folder"), m_model->text());
    if (!dir.isEmpty()) m_model->setText(dir);
  });
  connect(m_captureButton, &QPushButton::clicked, this, &AttentionPage::capture);
  connect(m_grid, &AttentionModelGrid::headClicked, this, &AttentionPage::openHead);
  connect(m_head, &AttentionHeadPanel::headShown, this,
          [this](int l, int h) { m_grid->setSelected(l, h); });
  auto zoom = [this](bool in) {
    switch (m_tabs->currentIndex()) {
      case ModelTab:
        m_grid->setThumbnailSize(int(m_grid->thumbnailSize() * (in ? 1.25 : 0.8)));
        break;
      case HeadTab:
        in ? m_head->heatmap()->zoomIn() : m_head->heatmap()->zoomOut();
        break;
      case RolloutTab:
        in ? m_rollout->heatmap()->zoomIn() : m_rollout->heatmap()->zoomOut();
        break;
      default:
        break;
    }
  };
  connect(zoomIn, &QToolButton::clicked, this, [zoom] { zoom(true); });
  connect(zoomOut, &QToolButton::clicked, this, [zoom] { zoom(false); });
  connect(png, &QToolButton::clicked, this, [this] { exportDialog(QStringLiteral("png")); });
  connect(svg, &QToolButton::clicked, this, [this] { exportDialog(QStringLiteral("svg")); });
  connect(csv, &QToolButton::clicked, this, [this] { exportDialog(QStringLiteral("csv")); });

  m_worker = new AttentionWorker;
  m_worker->moveToThread(&m_thread);
  connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
  connect(this, &AttentionPage::requestCapture, m_worker, &AttentionWorker::run,
          Qt::QueuedConnection);
  connect(m_worker, &AttentionWorker::progress, this,
          [this](const QString& s) { m_status->setText(s); });
  connect(m_worker, &AttentionWorker::finished, this, &AttentionPage::onFinished);
  connect(m_worker, &AttentionWorker::failed, this, &AttentionPage::onFailed);
  m_thread.setObjectName(QStringLiteral("attention-worker"));
  m_thread.start();
}

AttentionPage::~AttentionPage() {
  m_thread.quit();
  m_thread.wait();
}

void AttentionPage::setModelDir(const QString& dir) {
  m_model->setText(dir);
}
QString AttentionPage::modelDir() const {
  return m_model->text().trimmed();
}
QString AttentionPage::statusText() const {
  return m_status->text();
}

void AttentionPage::showText(const QString& modelDir, const QString& text) {
  m_model->setText(modelDir);
  m_text->setPlainText(text);
  capture();
}

void AttentionPage::showIds(const QString& modelDir, const QVector<int>& ids) {
  m_model->setText(modelDir);
  QStringList parts;
  for (int id : ids) parts << QString::number(id);
  m_text->setPlainText(tr("(token ids) %1").arg(parts.join(QLatin1Char(','))));
  AttentionJob job;
  job.modelDir = modelDir;
  job.ids = ids;
  QString error;
  if (!parseSelection(&job, &error)) return onFailed(error);
  start(job);
}

bool AttentionPage::parseSelection(AttentionJob* job, QString* error) const {
  for (auto [edit, out, what] :
       {std::tuple{m_layers, &job->layers, "layers"}, std::tuple{m_heads, &job->heads, "heads"}}) {
    const QString text = edit->text().trimmed();
    if (text.isEmpty()) continue;
    auto v = lw::api::parse_index_list(text.toStdString(), what);
    if (!v.is_ok()) return fail(error, QString::fromStdString(v.status().message()));
    *out = QVector<qint64>(v->begin(), v->end());
  }
  return true;
}

void AttentionPage::capture() {
  AttentionJob job;
  job.modelDir = modelDir();
  job.text = m_text->toPlainText();
  QString error;
  if (job.modelDir.isEmpty()) return onFailed(tr("Choose a model folder first."));
  if (job.text.trimmed().isEmpty()) return onFailed(tr("Type some text to look at."));
  if (!parseSelection(&job, &error)) return onFailed(error);
  start(job);
}

void AttentionPage::start(AttentionJob job) {
  if (m_busy) {  // the newest request runs next; older waiting ones are dropped
    m_pending = std::move(job);
    m_hasPending = true;
    return;
  }
  setBusy(true, tr("Starting…"));
  emit requestCapture(job);
}

void AttentionPage::setBusy(bool busy, const QString& stage) {
  m_busy = busy;
  m_progress->setVisible(busy);
  m_captureButton->setEnabled(!busy);
  if (!stage.isEmpty()) m_status->setText(stage);
}

void AttentionPage::onFinished(AttentionResultPtr r) {
  setBusy(false);
  m_result = r;
  const auto& c = r->capture;
  m_grid->setResult(r);
  m_head->setResult(r);
  m_rollout->setResult(r);
  m_stats->setResult(r);
  m_grid->setSelected(0, 0);
  m_status->setText(
      tr("%1: %2 tokens, %3 layers × %4 heads; capture %5 ms, views %6 ms, prepare %7 ms")
          .arg(QString::fromStdString(c.architecture))
          .arg(c.n_tok)
          .arg(c.n_layer())
          .arg(c.n_head())
          .arg(c.capture_ms, 0, 'f', 1)
          .arg(c.views_ms, 0, 'f', 1)
          .arg(r->prepareMs, 0, 'f', 1));
  emit captureFinished(true, m_status->text());
  if (m_hasPending) {
    m_hasPending = false;
    start(std::move(m_pending));
  }
}

void AttentionPage::onFailed(const QString& message) {
  setBusy(false);
  m_status->setText(message);
  emit captureFinished(false, message);
  if (m_hasPending) {
    m_hasPending = false;
    start(std::move(m_pending));
  }
}

void AttentionPage::openHead(int layerSlice, int headSlice) {
  m_head->showHead(layerSlice, headSlice);
  m_tabs->setCurrentIndex(HeadTab);
}

QWidget* AttentionPage::currentPicture() const {
  switch (m_tabs->currentIndex()) {
    case ModelTab:
      return m_grid->canvas();
    case HeadTab:
      return m_head->heatmap();
    case RolloutTab:
      return m_rollout->heatmap();
    default:
      return m_stats;
  }
}

bool AttentionPage::exportPng(const QString& path, QString* error) const {
  if (!m_result) return fail(error, tr("Nothing to export: capture attention first."));
  auto* map = qobject_cast<HeatmapView*>(currentPicture());
  if (map) return map->exportPng(path, 2.0, error);
  QWidget* w = currentPicture();
  QImage image(w->size() * 2, QImage::Format_ARGB32_Premultiplied);
  image.setDevicePixelRatio(2);
  image.fill(Qt::white);
  {
    QPainter p(&image);
    w->render(&p, {}, {}, QWidget::DrawChildren);
  }
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly) || !image.save(&f, "PNG") || !f.commit())
    return fail(error, tr("%1: cannot write the PNG (%2)").arg(path, f.errorString()));
  return true;
}

bool AttentionPage::exportSvg(const QString& path, QString* error) const {
  if (!m_result) return fail(error, tr("Nothing to export: capture attention first."));
  auto* map = qobject_cast<HeatmapView*>(currentPicture());
  if (map) return map->exportSvg(path, error);
  QWidget* w = currentPicture();
  QSvgGenerator gen;
  gen.setFileName(path);
  gen.setSize(w->size());
  gen.setViewBox(QRect(QPoint(0, 0), w->size()));
  gen.setTitle(tr("Attention"));
  QPainter p;
  if (!p.begin(&gen)) return fail(error, tr("%1: cannot write the SVG").arg(path));
  w->render(&p, {}, {}, QWidget::DrawChildren);
  p.end();
  return true;
}

bool AttentionPage::exportCsv(const QString& path, QString* error) const {
  if (!m_result) return fail(error, tr("Nothing to export: capture attention first."));
  switch (m_tabs->currentIndex()) {
    case HeadTab:
      return m_head->heatmap()->exportCsv(path, error);
    case RolloutTab:
      return m_rollout->heatmap()->exportCsv(path, error);
    case StatsTab:
      return saveText(path, m_stats->csv(), error);
    default:
      break;
  }
  return writeModelCsv(*m_result, path, error);
}

void AttentionPage::exportDialog(const QString& format) {
  const QString filter = format == QLatin1String("png")   ? tr("PNG image (*.png)")
                         : format == QLatin1String("svg") ? tr("SVG image (*.svg)")
                                                          : tr("CSV table (*.csv)");
  QString path = QFileDialog::getSaveFileName(this, tr("Export"),
                                              QStringLiteral("attention.") + format, filter);
  if (path.isEmpty()) return;
  if (!path.endsWith(QLatin1Char('.') + format)) path += QLatin1Char('.') + format;
  if (format == QLatin1String("csv") && m_tabs->currentIndex() == ModelTab && m_result) {
    m_status->setText(tr("Writing %1…").arg(path));
    auto* watcher = new QFutureWatcher<QString>(this);
    connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher, path] {
      const QString error = watcher->result();
      m_status->setText(error.isEmpty() ? tr("Wrote %1").arg(path) : error);
      watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run([r = m_result, path] {
      QString error;
      return writeModelCsv(*r, path, &error) ? QString() : error;
    }));
    return;
  }
  QString error;
  const bool ok = format == QLatin1String("png")   ? exportPng(path, &error)
                  : format == QLatin1String("svg") ? exportSvg(path, &error)
                                                   : exportCsv(path, &error);
  m_status->setText(ok ? tr("Wrote %1").arg(path) : error);
}
