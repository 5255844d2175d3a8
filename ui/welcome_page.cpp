// A centred column: title, buttons, recent list. Kept plain so it reads well
// in both themes.
#include "ui/welcome_page.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

WelcomePage::WelcomePage(QWidget* parent) : QWidget(parent) {
  auto* title = new QLabel(tr("<h1>LLM Workbench</h1>"
                              "<p>A workbench project is a folder with your runs, metrics and artifacts.</p>"),
                           this);
  title->setAlignment(Qt::AlignCenter);
  m_message = new QLabel(this);
  m_message->setWordWrap(true);
  m_message->setAlignment(Qt::AlignCenter);
  m_message->setStyleSheet("color: #d73a49;");
  m_message->hide();
  auto* create = new QPushButton(tr("New project…"), this);
  auto* open = new QPushButton(tr("Open project…"), this);
  auto* buttons = new QHBoxLayout;
  buttons->addStretch(1);
  buttons->addWidget(create);
  buttons->addWidget(open);
  buttons->addStretch(1);
  m_recent = new QListWidget(this);
  m_recent->setMaximumWidth(560);
  m_recent->setMaximumHeight(200);
  auto* recentLabel = new QLabel(tr("<b>Recent projects</b>"), this);

  auto* column = new QVBoxLayout;
  column->addStretch(1);
  column->addWidget(title);
  column->addWidget(m_message);
  column->addLayout(buttons);
  column->addSpacing(16);
  column->addWidget(recentLabel, 0, Qt::AlignHCenter);
  column->addWidget(m_recent, 0, Qt::AlignHCenter);
  column->addStretch(2);
  auto* layout = new QHBoxLayout(this);
  layout->addLayout(column);

  connect(create, &QPushButton::clicked, this, &WelcomePage::newProjectRequested);
  connect(open, &QPushButton::clicked, this, &WelcomePage::openProjectRequested);
  connect(m_recent, &QListWidget::itemActivated, this,
          [this](QListWidgetItem* item) { emit recentProjectRequested(item->data(Qt::UserRole).toString()); });
  connect(m_recent, &QListWidget::itemClicked, this,
          [this](QListWidgetItem* item) { emit recentProjectRequested(item->data(Qt::UserRole).toString()); });
}

void WelcomePage::setRecentProjects(const QStringList& dirs) {
  m_recent->clear();
  for (const QString& d : dirs) {
    auto* item = new QListWidgetItem(d, m_recent);
    item->setData(Qt::UserRole, d);
  }
  if (dirs.isEmpty()) (new QListWidgetItem(tr("(none yet)"), m_recent))->setFlags(Qt::NoItemFlags);
}

void WelcomePage::setMessage(const QString& text) {
  m_message->setText(text);
  m_message->setVisible(!text.isEmpty());
}
