// TokenView: a flowing strip of token chips (the playground's output as the model saw it).
// Each generated token is a chip coloured by its probability; prompt tokens are drawn plain.
// Hovering a generated token shows its top alternatives in a popup inside the view; clicking
// an alternative emits alternativeChosen. Tokens are appended incrementally: only the new
// chips are laid out and repainted, so a few thousand tokens stay fast. Plain data in.
#pragma once
#include <QAbstractScrollArea>
#include <QRectF>
#include <QString>
#include <QVector>

#include "widgets/color_scale.h"

class TokenAlternativesPopup;
class QTimer;

struct TokenAlternative {
  QString text;
  double probability = 0;
};

struct TokenItem {
  QString text;                          // the token's own text (may contain spaces, newlines)
  double probability = 0;                // of the chosen token, in [0, 1]
  QVector<TokenAlternative> alternatives;  // best first
  bool prompt = false;                   // part of the prompt: plain chip, no popup
};

class TokenView : public QAbstractScrollArea {
  Q_OBJECT
 public:
  explicit TokenView(QWidget* parent = nullptr);

  void append(const QVector<TokenItem>& items);
  void append(const TokenItem& item) { append(QVector<TokenItem>{item}); }
  void clear();
  // Keeps the first n items (continuing from an alternative rewrites the tail).
  void truncate(int n);

  int count() const { return int(m_items.size()); }
  int generatedCount() const { return m_generated; }
  const TokenItem& item(int i) const { return m_items[i]; }

  // The chip of item i in viewport coordinates (empty when out of range).
  QRect tokenRect(int i) const;
  int tokenAt(const QPoint& viewportPos) const;  // -1 when no chip there

  // Hover state, as the mouse sets it; setHoveredIndex does the same programmatically.
  int hoveredIndex() const { return m_hovered; }
  void setHoveredIndex(int i);
  bool popupVisible() const;
  // The alternatives the popup shows now (empty when hidden).
  QVector<TokenAlternative> shownAlternatives() const;
  // Row `alt` of the popup in viewport coordinates (to click it).
  QRect alternativeRect(int alt) const;
  TokenAlternativesPopup* popup() const { return m_popup; }

  // The chip colour for a probability (blended towards the base colour for readable text).
  QColor chipColor(double probability) const;
  // How a token's text is shown: spaces as '·', newline as '↵', tab as '→'.
  static QString displayText(const QString& text);

 signals:
  void tokenHovered(int index);  // -1 when the hover ends
  void alternativeChosen(int tokenIndex, int alternativeIndex);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void scrollContentsBy(int dx, int dy) override;
  void changeEvent(QEvent* event) override;

 private:
  // Lays out items [from, count) after the chip of item from-1.
  void layoutFrom(int from);
  void updateScrollRange();
  void placePopup();
  void maybeHidePopup();
  QRectF contentRect(int i) const { return m_rects[i]; }
  double lineHeight() const;

  QVector<TokenItem> m_items;
  QVector<QRectF> m_rects;      // content coordinates
  QVector<bool> m_breakAfter;   // the token ends with a newline
  int m_generated = 0;
  double m_contentHeight = 0;
  int m_layoutWidth = 0;
  int m_hovered = -1;
  ColorScale m_scale{ColorScaleKind::Diverging};
  TokenAlternativesPopup* m_popup = nullptr;
  QTimer* m_hideTimer = nullptr;
};
