// NER rows are shown as the sentence with each entity bracketed and typed, which reads
// faster than a token-per-row table and still shows the tagging.
#include "ui/finetune/dataset_preview_view.h"

#include <QHeaderView>
#include <QLabel>
#include <QScrollArea>
#include <QTableWidget>
#include <QVBoxLayout>

#include "ui/finetune/bar_chart.h"

DatasetPreviewView::DatasetPreviewView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  m_summary = new QLabel;
  m_summary->setWordWrap(true);
  m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_rows = new QTableWidget;
  m_rows->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_rows->setWordWrap(false);
  m_rows->verticalHeader()->setVisible(false);
  m_rows->horizontalHeader()->setStretchLastSection(false);
  m_labels = new BarChart(BarChart::Kind::kCategories);
  m_lengths = new BarChart(BarChart::Kind::kHistogram);
  auto* charts = new QHBoxLayout;
  charts->addWidget(m_labels, 1);
  charts->addWidget(m_lengths, 1);
  layout->addWidget(m_summary);
  layout->addWidget(m_rows, 3);
  layout->addLayout(charts, 2);
  setPlaceholder(tr("Choose a training file to see its first rows, labels and lengths."));
}

void DatasetPreviewView::setPlaceholder(const QString& message) {
  m_summary->setText(message);
  m_summary->setStyleSheet({});
  m_rows->clear();
  m_rows->setRowCount(0);
  m_rows->setColumnCount(0);
  m_labels->setBars({}, {});
  m_lengths->setBars({}, {});
}

void DatasetPreviewView::setError(const QString& message) {
  setPlaceholder({});
  m_summary->setText(tr("Cannot read the data: %1").arg(message.toHtmlEscaped()));
  m_summary->setStyleSheet("color: #c0392b;");
}

void DatasetPreviewView::setPreview(const lw::api::DatasetPreview& preview) {
  m_summary->setStyleSheet({});
  if (preview.classify) showClassify(*preview.classify);
  else if (preview.ner) showNer(*preview.ner);
  if (preview.truncation.n_examples > 0) {
    const auto& t = preview.truncation;
    const QString text = t.n_truncated
        ? tr("%1 of %2 examples are longer than %3 model tokens and will be cut (longest %4, "
             "special tokens included).")
              .arg(t.n_truncated).arg(t.n_examples).arg(t.max_length).arg(t.longest)
        : tr("No example is longer than %1 model tokens (longest %2, special tokens included).")
              .arg(t.max_length).arg(t.longest);
    m_summary->setText(m_summary->text() + "<br>" + text);
  }
}

void DatasetPreviewView::showClassify(const lw::train::ClassifyPreview& p) {
  const bool pair = !p.first_rows.empty() && !p.first_rows.front().text_pair.empty();
  m_summary->setText(tr("<b>%1</b> examples, <b>%2</b> labels.").arg(p.n_examples).arg(p.label_counts.size()));
  QStringList headers{tr("line"), tr("text")};
  if (pair) headers << tr("pair");
  headers << tr("label");
  m_rows->clear();
  m_rows->setColumnCount(headers.size());
  m_rows->setHorizontalHeaderLabels(headers);
  m_rows->setRowCount(int(p.first_rows.size()));
  for (int r = 0; r < int(p.first_rows.size()); ++r) {
    const auto& e = p.first_rows[size_t(r)];
    int c = 0;
    m_rows->setItem(r, c++, new QTableWidgetItem(QString::number(e.line)));
    auto* text = new QTableWidgetItem(QString::fromStdString(e.text));
    text->setToolTip(QString::fromStdString(e.text).left(2000));
    m_rows->setItem(r, c++, text);
    if (pair) m_rows->setItem(r, c++, new QTableWidgetItem(QString::fromStdString(e.text_pair)));
    m_rows->setItem(r, c, new QTableWidgetItem(QString::fromStdString(e.label)));
  }
  m_rows->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  m_rows->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
  m_rows->horizontalHeader()->setSectionResizeMode(headers.size() - 1, QHeaderView::ResizeToContents);
  QStringList labels;
  QVector<double> counts;
  for (const auto& [label, n] : p.label_counts) {
    labels << QString::fromStdString(label);
    counts << double(n);
  }
  m_labels->setTitle(tr("Labels"));
  m_labels->setBars(labels, counts);
  setLengths(p.word_lengths, tr("words"));
}

void DatasetPreviewView::showNer(const lw::train::NerPreview& p) {
  // The file's tokens are words: named so, apart from the truncation line's model tokens.
  m_summary->setText(tr("<b>%1</b> sentences, %2 words, <b>%3</b> entities.")
                         .arg(p.n_sentences).arg(p.n_tokens).arg(p.n_entities));
  m_rows->clear();
  m_rows->setColumnCount(3);
  m_rows->setHorizontalHeaderLabels({tr("line"), tr("sentence ([entity]TYPE)"), tr("tags")});
  m_rows->setRowCount(int(p.first_sentences.size()));
  for (int r = 0; r < int(p.first_sentences.size()); ++r) {
    const auto& s = p.first_sentences[size_t(r)];
    QStringList words, tags;
    QString open;  // the type of the entity being written, if any
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      const QString tag = QString::fromStdString(s.tags[i]);
      const QString type = tag.section('-', 1);
      const bool begins = tag.startsWith("B-") || tag.startsWith("S-") ||
                          (tag.startsWith("I-") && open != type);
      if (!open.isEmpty() && (begins || tag == "O")) {
        words.last() += "]" + open;
        open.clear();
      }
      QString w = QString::fromStdString(s.tokens[i]);
      if (begins) {
        w = "[" + w;
        open = type;
      }
      words << w;
      tags << tag;
    }
    if (!open.isEmpty()) words.last() += "]" + open;
    m_rows->setItem(r, 0, new QTableWidgetItem(QString::number(s.line)));
    m_rows->setItem(r, 1, new QTableWidgetItem(words.join(' ')));
    m_rows->setItem(r, 2, new QTableWidgetItem(tags.join(' ')));
  }
  m_rows->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  m_rows->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
  m_rows->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Interactive);
  QStringList types;
  QVector<double> counts;
  for (const auto& [type, n] : p.entity_counts) {
    types << QString::fromStdString(type);
    counts << double(n);
  }
  m_labels->setTitle(tr("Entities by type"));
  m_labels->setBars(types, counts);
  setLengths(p.sentence_lengths, tr("words"));
}

void DatasetPreviewView::setLengths(const lw::train::LengthHistogram& h, const QString& unit) {
  QStringList edges;
  QVector<double> counts;
  for (size_t i = 0; i < h.bins.size(); ++i) {
    edges << QString::number(int64_t(i) * h.bin_width);
    counts << double(h.bins[i]);
  }
  m_lengths->setTitle(tr("Length (%1)").arg(unit));
  m_lengths->setBars(edges, counts, tr("mean %1 · p95 %2 · max %3").arg(h.mean, 0, 'f', 1).arg(h.p95).arg(h.max));
}

int DatasetPreviewView::rowCount() const { return m_rows->rowCount(); }
int DatasetPreviewView::labelBarCount() const { return m_labels->barCount(); }
int DatasetPreviewView::lengthBarCount() const { return m_lengths->barCount(); }
QString DatasetPreviewView::summary() const { return m_summary->text(); }
