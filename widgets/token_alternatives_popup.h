// TokenAlternativesPopup: the small panel TokenView shows over a hovered token: the
// token with its probability, then its top alternatives as rows (text, a probability bar,
// the percentage). A child of the view, not a top-level tooltip, so it stays clickable,
// is captured by grab() and never outlives its view.
#pragma once
#include <QFrame>
#include <QVector>

struct TokenAlternative;

class TokenAlternativesPopup : public QFrame {
  Q_OBJECT
 public:
  explicit TokenAlternativesPopup(QWidget* parent = nullptr);

  void setContent(const QString& token, double probability,
                  const QVector<TokenAlternative>& alternatives);
  const QVector<TokenAlternative>& alternatives() const { return m_alternatives; }
  QRect rowRect(int i) const;  // in this widget's coordinates
  int rowAt(const QPoint& pos) const;
  QSize sizeHint() const override;

 signals:
  void alternativeClicked(int index);
  void mouseLeft();

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  int headerHeight() const;
  int rowHeight() const;

  QString m_token;
  double m_probability = 0;
  QVector<TokenAlternative> m_alternatives;
  int m_hoverRow = -1;
};
