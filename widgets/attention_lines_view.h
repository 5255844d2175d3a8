// AttentionLinesView: the bertviz-style view of one head (or an average): the
// tokens in two columns, a line from each left token (query) to each right
// token (key) whose opacity and width follow the weight. Hovering a token
// shows only its lines and tints the other column by weight. Plain data in,
// user intent (hovered / clicked token) out.
#pragma once
#include <QColor>
#include <QStringList>
#include <QVector>
#include <QWidget>

class AttentionLinesView : public QWidget {
  Q_OBJECT
 public:
  enum Side { Left = 0, Right = 1 };

  explicit AttentionLinesView(QWidget* parent = nullptr);

  // weights: [left.size() × right.size()], row-major, weight of left i → right j.
  // Opacity is weight / max weight. Keeps the old data on a size mismatch.
  bool setData(const QStringList& left, const QStringList& right, const QVector<float>& weights,
               QString* error = nullptr);
  void setColor(const QColor& color);
  void setTitle(const QString& title);
  QColor color() const { return m_color; }

  int hoveredSide() const { return m_hoverSide; }  // -1 when none
  int hoveredIndex() const { return m_hoverIndex; }
  QRectF tokenRect(Side side, int index) const;
  // The opacity in [0, 1] the line i → j is drawn with now (0 = not drawn).
  double lineOpacity(int i, int j) const;
  QPointF lineMidpoint(int i, int j) const;

  QSize sizeHint() const override;

 signals:
  void tokenHovered(int side, int index);
  void hoverLeft();
  void tokenClicked(int side, int index);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  struct Hit {
    int side = -1, index = -1;
  };
  Hit tokenAt(QPointF pos) const;
  double rowHeight() const;
  double top() const;
  double columnWidth() const;
  double weightOf(int i, int j) const;
  void setHover(Hit hit);

  QStringList m_left, m_right;
  QVector<float> m_weights;
  float m_max = 1;
  QColor m_color{0x1f, 0x77, 0xb4};
  QString m_title;
  double m_labelW = 40;
  int m_hoverSide = -1, m_hoverIndex = -1;
};
