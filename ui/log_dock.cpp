// The log view keeps at most a few thousand lines (QPlainTextEdit block limit)
// so a chatty training run cannot grow the GUI's memory without bound.
#include "ui/log_dock.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QToolButton>
#include <QVBoxLayout>

#include "engine/core/log.h"
#include "ui/log_relay.h"

LogDock::LogDock(QWidget* parent) : QDockWidget(tr("Log"), parent) {
  setObjectName("logDock");
  auto* body = new QWidget(this);
  m_view = new QPlainTextEdit(body);
  m_view->setReadOnly(true);
  m_view->setMaximumBlockCount(5000);
  m_view->setFont(QFont("monospace"));
  m_view->setLineWrapMode(QPlainTextEdit::NoWrap);
  m_level = new QComboBox(body);
  m_level->addItem(tr("Debug"), int(lw::LogLevel::kDebug));
  m_level->addItem(tr("Info"), int(lw::LogLevel::kInfo));
  m_level->addItem(tr("Warnings"), int(lw::LogLevel::kWarn));
  m_level->addItem(tr("Errors"), int(lw::LogLevel::kError));
  m_level->setCurrentIndex(1);
  auto* clear = new QToolButton(body);
  clear->setText(tr("Clear"));
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Show"), body));
  bar->addWidget(m_level);
  bar->addStretch(1);
  bar->addWidget(clear);
  auto* layout = new QVBoxLayout(body);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addLayout(bar);
  layout->addWidget(m_view);
  setWidget(body);
  connect(clear, &QToolButton::clicked, m_view, &QPlainTextEdit::clear);
  // Always queued, so messages from every thread arrive in the order they were logged.
  connect(LogRelay::instance(), &LogRelay::messageLogged, this, &LogDock::appendMessage, Qt::QueuedConnection);
}

QString LogDock::text() const { return m_view->toPlainText(); }

void LogDock::appendMessage(int level, const QString& message, const QDateTime& when) {
  if (level < m_level->currentData().toInt()) return;
  const QString line = QStringLiteral("%1  %2  %3")
                           .arg(when.toString("HH:mm:ss"),
                                QString::fromLatin1(lw::log_level_name(lw::LogLevel(level))).leftJustified(5),
                                message);
  m_view->appendPlainText(line);
}
