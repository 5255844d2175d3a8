// FillMaskView: a two-level tree (mask -> candidates); a small delegate paints the
// probability column as a bar with the percentage, which reads faster than numbers alone.
#include "ui/playground/fill_mask_view.h"

#include <QHeaderView>
#include <QPainter>
#include <QStyle>
#include <QStyledItemDelegate>
#include <algorithm>

namespace {
constexpr int kProbRole = Qt::UserRole + 1;

class ProbabilityDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* p, const QStyleOptionViewItem& opt, const QModelIndex& index) const override {
    const QVariant v = index.data(kProbRole);
    if (!v.isValid()) return QStyledItemDelegate::paint(p, opt, index);
    QStyleOptionViewItem o = opt;
    initStyleOption(&o, index);
    o.text.clear();
    o.widget->style()->drawControl(QStyle::CE_ItemViewItem, &o, p, o.widget);
    const double prob = v.toDouble();
    const QRect r = opt.rect.adjusted(4, 4, -4, -4);
    const int barW = r.width() - 64;
    QColor track = opt.palette.color(QPalette::Text);
    track.setAlphaF(0.12);
    p->fillRect(QRect(r.left(), r.top(), barW, r.height()), track);
    p->fillRect(QRect(r.left(), r.top(), int(barW * std::clamp(prob, 0.0, 1.0)), r.height()),
                opt.palette.color(QPalette::Highlight));
    p->setPen(opt.palette.color(QPalette::Text));
    p->drawText(QRect(r.left() + barW, opt.rect.top(), 64, opt.rect.height()),
                Qt::AlignRight | Qt::AlignVCenter, QString::number(prob * 100, 'f', 2) + " %");
  }
};
}  // namespace

FillMaskView::FillMaskView(QWidget* parent) : QTreeWidget(parent) {
  setColumnCount(3);
  setHeaderLabels({tr("Candidate"), tr("Probability"), tr("Sentence")});
  setItemDelegateForColumn(1, new ProbabilityDelegate(this));
  setRootIsDecorated(true);
  setAlternatingRowColors(true);
  setUniformRowHeights(true);
  header()->setStretchLastSection(true);
  setColumnWidth(0, 160);
  setColumnWidth(1, 200);
}

void FillMaskView::setResults(const MaskResults& results) {
  m_results = results;
  clear();
  for (int m = 0; m < results.size(); ++m) {
    auto* top = new QTreeWidgetItem(this);
    top->setText(0, tr("[MASK] %1").arg(m + 1));
    top->setText(2, tr("token %1 of the input").arg(results[m].position));
    QFont bold = top->font(0);
    bold.setBold(true);
    top->setFont(0, bold);
    for (const auto& c : results[m].candidates) {
      auto* it = new QTreeWidgetItem(top);
      it->setText(0, c.token);
      it->setData(1, kProbRole, c.probability);
      it->setText(2, c.sequence);
      it->setToolTip(2, c.sequence);
    }
    top->setExpanded(true);
  }
}
