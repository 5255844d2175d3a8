// TryItBox: type a text, run the trained model on it. Classification shows the label and
// every class's probability as a bar; NER shows the text with each entity highlighted
// inline in its type's colour, the type beside it. It only asks (signals); the page runs
// the model on the worker thread and hands the Prediction back.
#pragma once
#include <QWidget>

#include "engine/api/finetune.h"

class QLabel;
class QLineEdit;
class QPushButton;
class QTextBrowser;

class TryItBox : public QWidget {
  Q_OBJECT
 public:
  explicit TryItBox(QWidget* parent = nullptr);

  void setModel(const QString& modelDir, const QString& task);  // empty dir: none loaded
  void setLoading(const QString& modelDir);
  void setText(const QString& text);
  QString text() const;
  void showPrediction(const QString& text, const lw::api::Prediction& p);
  void showError(const QString& message);
  QString resultHtml() const;
  const lw::api::Prediction& lastPrediction() const { return m_last; }
  QPushButton* predictButton() const { return m_predict; }

  // Background colour of an entity type (stable per type name).
  static QColor entityColor(const QString& type);
  static QString entitiesHtml(const std::string& text, const lw::api::Prediction& p);

 signals:
  void predictRequested(const QString& text);
  void loadRequested(const QString& modelDir);

 private:
  QString classifyHtml(const lw::api::Prediction& p) const;

  QLabel* m_model = nullptr;
  QLineEdit* m_input = nullptr;
  QPushButton* m_predict = nullptr;
  QPushButton* m_load = nullptr;
  QTextBrowser* m_result = nullptr;
  QString m_task;
  lw::api::Prediction m_last;
};
