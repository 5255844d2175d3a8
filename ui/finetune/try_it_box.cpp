// Entities are cut from the UTF-8 input by the engine's byte offsets, so the highlighted
// spans are exactly the characters the model tagged, whatever the script.
#include "ui/finetune/try_it_box.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTextBrowser>
#include <QVBoxLayout>

TryItBox::TryItBox(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout;
  m_model = new QLabel;
  m_model->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_load = new QPushButton(tr("Load model…"));
  m_load->setToolTip(tr("Use another fine-tuned folder (a run's checkpoint)"));
  top->addWidget(m_model, 1);
  top->addWidget(m_load);
  auto* row = new QHBoxLayout;
  m_input = new QLineEdit;
  m_input->setPlaceholderText(tr("Type a text and press Enter"));
  m_input->setClearButtonEnabled(true);
  m_predict = new QPushButton(tr("Predict"));
  m_predict->setDefault(true);
  row->addWidget(m_input, 1);
  row->addWidget(m_predict);
  m_result = new QTextBrowser;
  m_result->setOpenLinks(false);
  QFont big = m_result->font();
  big.setPointSizeF(big.pointSizeF() * 1.25);
  m_result->setFont(big);
  layout->addLayout(top);
  layout->addLayout(row);
  layout->addWidget(m_result, 1);
  auto ask = [this] {
    if (!m_input->text().trimmed().isEmpty()) emit predictRequested(m_input->text());
  };
  connect(m_predict, &QPushButton::clicked, this, ask);
  connect(m_input, &QLineEdit::returnPressed, this, ask);
  connect(m_load, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose a fine-tuned model folder"));
    if (!dir.isEmpty()) emit loadRequested(dir);
  });
  setModel({}, {});
}

void TryItBox::setModel(const QString& modelDir, const QString& task) {
  m_task = task;
  m_predict->setEnabled(!modelDir.isEmpty());
  m_model->setText(modelDir.isEmpty() ? tr("No model yet: train one, or load a fine-tuned folder.")
                                      : tr("<b>%1</b> model: %2").arg(task, modelDir.toHtmlEscaped()));
}

void TryItBox::setLoading(const QString& modelDir) {
  m_predict->setEnabled(false);
  m_model->setText(tr("Loading %1 …").arg(modelDir.toHtmlEscaped()));
}

void TryItBox::setText(const QString& text) { m_input->setText(text); }
QString TryItBox::text() const { return m_input->text(); }
QString TryItBox::resultHtml() const { return m_result->toHtml(); }

void TryItBox::showError(const QString& message) {
  m_result->setHtml(QStringLiteral("<p style='color:#c0392b'>%1</p>").arg(message.toHtmlEscaped()));
}

QColor TryItBox::entityColor(const QString& type) {
  static const QStringList kKnown = {"PER", "LOC", "ORG", "MISC"};
  static const QColor kPalette[] = {QColor("#ffd08a"), QColor("#9fd8f7"), QColor("#b9e6a6"),
                                    QColor("#e3c4f5"), QColor("#f7b4b4"), QColor("#c8d0f7"),
                                    QColor("#f2e29b"), QColor("#a8e3d8")};
  const int known = int(kKnown.indexOf(type.toUpper()));
  const int i = known >= 0 ? known : int(qHash(type) % 8);
  return kPalette[i];
}

QString TryItBox::entitiesHtml(const std::string& text, const lw::api::Prediction& p) {
  QString html;
  int64_t pos = 0;
  for (const auto& e : p.entities) {
    if (e.byte_begin < pos || e.byte_end > int64_t(text.size())) continue;
    html += QString::fromUtf8(text.substr(size_t(pos), size_t(e.byte_begin - pos))).toHtmlEscaped();
    const QString type = QString::fromStdString(e.type);
    html += QStringLiteral("<span style='background-color:%1; color:#1b1b1b;'>&nbsp;%2 "
                           "<span style='font-size:small; font-weight:bold; color:#444444;'>%3</span>&nbsp;</span>")
                .arg(entityColor(type).name(),
                     QString::fromUtf8(text.substr(size_t(e.byte_begin), size_t(e.byte_end - e.byte_begin))).toHtmlEscaped(),
                     type.toHtmlEscaped());
    pos = e.byte_end;
  }
  html += QString::fromUtf8(text.substr(size_t(std::min<int64_t>(pos, int64_t(text.size()))))).toHtmlEscaped();
  return html;
}

QString TryItBox::classifyHtml(const lw::api::Prediction& p) const {
  QString html = tr("<p>Label: <b style='font-size:x-large'>%1</b> &nbsp; (%2%)</p><table cellspacing='4'>")
                     .arg(QString::fromStdString(p.label).toHtmlEscaped())
                     .arg(p.score * 100, 0, 'f', 1);
  const QString bar = palette().color(QPalette::Highlight).name();
  for (const auto& [label, prob] : p.probabilities) {
    const int w = std::max(1, int(prob * 300));
    html += QStringLiteral("<tr><td align='right'>%1</td><td><table cellspacing='0' cellpadding='0'><tr>"
                           "<td width='%2' height='12' bgcolor='%3'></td></tr></table></td><td>%4%</td></tr>")
                .arg(QString::fromStdString(label).toHtmlEscaped()).arg(w).arg(bar)
                .arg(prob * 100, 0, 'f', 1);
  }
  return html + "</table>";
}

void TryItBox::showPrediction(const QString& text, const lw::api::Prediction& p) {
  m_last = p;
  QString html;
  if (p.task == lw::api::FinetuneTask::kNer) {
    html = "<p style='line-height:160%'>" + entitiesHtml(text.toStdString(), p) + "</p>";
    html += p.entities.empty() ? tr("<p><i>No entity found.</i></p>")
                               : tr("<p style='color:gray'>%n entities</p>", nullptr, int(p.entities.size()));
  } else {
    html = classifyHtml(p);
  }
  if (p.truncated) html += tr("<p style='color:gray'>The text was longer than the model's max length: the tail was not seen.</p>");
  m_result->setHtml(html);
}
