// MainWindow implementation. The system report (CUDA devices) can take a
// moment to gather, so it is queried with QtConcurrent and the status bar is
// filled when it arrives; until then it reads "detecting…".
#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QtConcurrent/QtConcurrentRun>

#include "engine/api/system_info.h"
#include "engine/core/log.h"
#include "ui/app_settings.h"
#include "ui/attention/attention_page.h"
#include "ui/experiments/experiments_page.h"
#include "ui/finetune/finetune_page.h"
#include "ui/playground/playground_page.h"
#include "ui/prompt_tune/prompt_tune_page.h"
#include "ui/sample_project.h"
#include "ui/log_dock.h"
#include "ui/log_relay.h"
#include "ui/new_project_dialog.h"
#include "ui/settings_dialog.h"
#include "ui/theme.h"
#include "ui/welcome_page.h"

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  LogRelay::installEngineSink();
  setWindowTitle(tr("LLM Workbench"));
  setWindowIcon(QIcon(":/icons/app.svg"));
  resize(1360, 860);

  m_sidebar = new QListWidget(this);
  m_sidebar->setObjectName("sidebar");
  m_sidebar->setFixedWidth(150);
  m_sidebar->setIconSize(QSize(20, 20));
  m_sidebar->setSpacing(2);
  m_pages = new QStackedWidget(this);
  m_welcome = new WelcomePage(m_pages);
  m_pages->addWidget(m_welcome);

  // Pages in navigation order. Add a page here only when its capability works.
  m_playground = new PlaygroundPage(m_pages);
  addNavPage(m_playground, QStyle::SP_MediaPlay, tr("Playground"));
  m_attention = new AttentionPage(m_pages);
  addNavPage(m_attention, QStyle::SP_FileDialogContentsView, tr("Attention"));
  m_finetune = new FinetunePage(m_pages);
  addNavPage(m_finetune, QStyle::SP_BrowserReload, tr("Fine-tune"));
  m_promptTune = new PromptTunePage(m_pages);
  addNavPage(m_promptTune, QStyle::SP_FileDialogListView, tr("Prompt-tune"));
  m_experiments = new ExperimentsPage(m_pages);
  addNavPage(m_experiments, QStyle::SP_FileDialogDetailedView, tr("Experiments"));

  auto* central = new QWidget(this);
  auto* layout = new QHBoxLayout(central);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(m_sidebar);
  layout->addWidget(m_pages, 1);
  setCentralWidget(central);

  m_log = new LogDock(this);
  addDockWidget(Qt::BottomDockWidgetArea, m_log);
  resizeDocks({m_log}, {140}, Qt::Vertical);

  m_deviceLabel = new QLabel(tr("Device: detecting…"), this);
  m_projectLabel = new QLabel(this);
  statusBar()->addPermanentWidget(m_projectLabel);
  statusBar()->addPermanentWidget(m_deviceLabel);

  buildMenus();
  connect(m_sidebar, &QListWidget::currentRowChanged, this, &MainWindow::showPage);
  connect(m_welcome, &WelcomePage::newProjectRequested, this, &MainWindow::newProjectInteractive);
  connect(m_welcome, &WelcomePage::openProjectRequested, this, &MainWindow::openProjectInteractive);
  connect(m_welcome, &WelcomePage::recentProjectRequested, this, [this](const QString& dir) {
    QString error;
    if (!openProject(dir, &error)) m_welcome->setMessage(error);
  });
  connect(m_experiments, &ExperimentsPage::statusMessage, this,
          [this](const QString& text) { statusBar()->showMessage(text, 6000); });
  // The playground's "Attention" button: the same model and text on the Attention page.
  connect(m_playground, &PlaygroundPage::attentionRequested, this,
          [this](const QString& modelDir, const QString& text) {
            showNavPage(m_attention);
            m_attention->showText(modelDir, text);
          });
  closeProject();
  querySystem();
}

MainWindow::~MainWindow() = default;

void MainWindow::addNavPage(QWidget* page, QStyle::StandardPixmap icon, const QString& title) {
  m_pages->addWidget(page);
  m_navPages << page;
  new QListWidgetItem(style()->standardIcon(icon), title, m_sidebar);
}

void MainWindow::showNavPage(QWidget* page) {
  const int row = m_navPages.indexOf(page);
  if (row >= 0 && m_project) m_sidebar->setCurrentRow(row);  // showPage follows
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("&New Project…"), QKeySequence::New, this, &MainWindow::newProjectInteractive);
  file->addAction(tr("&Open Project…"), QKeySequence::Open, this, &MainWindow::openProjectInteractive);
  m_recentMenu = file->addMenu(tr("Recent &Projects"));
  connect(m_recentMenu, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
  file->addAction(tr("&Close Project"), this, &MainWindow::closeProject);
  file->addSeparator();
  file->addAction(tr("&Settings…"), QKeySequence::Preferences, this, &MainWindow::showSettings);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->addAction(m_log->toggleViewAction());

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About LLM Workbench"), this, [this] {
    QMessageBox::about(this, tr("About LLM Workbench"),
                       tr("<b>LLM Workbench</b><br>A desktop workbench for training, tuning and "
                          "inspecting language models, with an in-process CUDA engine."));
  });
}

void MainWindow::rebuildRecentMenu() {
  m_recentMenu->clear();
  const QStringList recent = AppSettings::recentProjects();
  if (recent.isEmpty()) m_recentMenu->addAction(tr("(none)"))->setEnabled(false);
  for (const QString& dir : recent) {
    m_recentMenu->addAction(dir, this, [this, dir] {
      QString error;
      if (!openProject(dir, &error)) {
        AppSettings::removeRecentProject(dir);
        QMessageBox::warning(this, tr("Open project"), error);
      }
    });
  }
}

bool MainWindow::openProject(const QString& dir, QString* error) {
  QString why;
  auto project = Project::open(dir, &why);
  if (!project) {
    lw::log_error(why.toStdString());
    if (error) *error = why;
    return false;
  }
  m_project = project;
  AppSettings::addRecentProject(project->dir());
  AppSettings::setLastProject(project->dir());
  m_experiments->setProject(project->dir());
  m_playground->setProject(project->dir());
  m_finetune->setProject(project->dir());
  m_promptTune->setProject(project->dir());
  m_sidebar->setEnabled(true);
  m_sidebar->setCurrentRow(0);
  showPage(0);
  m_projectLabel->setText(tr("Project: %1").arg(project->name()));
  m_projectLabel->setToolTip(project->dir());
  setWindowTitle(tr("%1 — LLM Workbench").arg(project->name()));
  lw::log_info("opened project " + project->dir().toStdString());
  return true;
}

bool MainWindow::createProject(const QString& dir, const QString& name, QString* error) {
  QString why;
  if (!Project::create(dir, name, &why)) {
    lw::log_error(why.toStdString());
    if (error) *error = why;
    return false;
  }
  lw::log_info("created project " + name.toStdString() + " in " + dir.toStdString());
  return openProject(dir, error);
}

void MainWindow::closeProject() {
  m_project.reset();
  m_experiments->setProject(QString());
  m_playground->setProject(QString());
  m_finetune->setProject(QString());
  m_promptTune->setProject(QString());
  m_sidebar->setEnabled(false);
  m_sidebar->clearSelection();
  m_welcome->setRecentProjects(AppSettings::recentProjects());
  m_welcome->setMessage(QString());
  m_pages->setCurrentWidget(m_welcome);
  m_projectLabel->setText(tr("No project"));
  setWindowTitle(tr("LLM Workbench"));
}

void MainWindow::startup() {
  applySettings();
  QString last = AppSettings::lastProject();
  // First start: open the sample project when packaging/run.sh prepared it.
  if (last.isEmpty() && AppSettings::recentProjects().isEmpty()) last = preparedSampleProjectDir();
  if (last.isEmpty()) return;  // the welcome page offers New / Open
  QString error;
  if (!openProject(last, &error)) m_welcome->setMessage(tr("The last project could not be opened:\n%1").arg(error));
}

void MainWindow::newProjectInteractive() {
  NewProjectDialog dialog(this);
  if (dialog.exec() != QDialog::Accepted) return;
  QString error;
  if (!createProject(dialog.directory(), dialog.name(), &error))
    QMessageBox::warning(this, tr("New project"), error);
}

void MainWindow::openProjectInteractive() {
  const QString start = m_project ? QFileInfo(m_project->dir()).path() : AppSettings::projectsFolder();
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open project folder"), start);
  if (dir.isEmpty()) return;
  QString error;
  if (!openProject(dir, &error)) QMessageBox::warning(this, tr("Open project"), error);
}

void MainWindow::showSettings() {
  SettingsDialog dialog(m_cudaDevices, this);
  if (dialog.exec() == QDialog::Accepted) applySettings();
}

void MainWindow::applySettings() {
  Theme::apply(AppSettings::theme());
  updateDeviceLabel();
}

void MainWindow::showPage(int sidebarRow) {
  if (sidebarRow >= 0 && sidebarRow < m_navPages.size() && m_project)
    m_pages->setCurrentWidget(m_navPages[sidebarRow]);
}

void MainWindow::querySystem() {
  auto* watcher = new QFutureWatcher<lw::SystemReport>(this);
  connect(watcher, &QFutureWatcher<lw::SystemReport>::finished, this, [this, watcher] {
    const lw::SystemReport report = watcher->result();
    watcher->deleteLater();
    m_cudaDevices.clear();
    for (const auto& d : report.cuda_devices)
      m_cudaDevices << QStringLiteral("cuda:%1 %2 (%3 GiB)")
                           .arg(d.index)
                           .arg(QString::fromStdString(d.name))
                           .arg(d.total_memory / double(1ll << 30), 0, 'f', 1);
    m_autoDevice = QString::fromStdString(lw::describe_default_device(report));
    if (report.cuda_devices.empty() && !report.cuda_status.empty())
      lw::log_info("CUDA: " + report.cuda_status);
    updateDeviceLabel();
    emit systemInfoReady();
  });
  watcher->setFuture(QtConcurrent::run([] { return lw::query_system(); }));
}

QString MainWindow::deviceText() const { return m_deviceLabel->text(); }

void MainWindow::updateDeviceLabel() {
  if (m_autoDevice.isEmpty()) return;  // still detecting
  const QString chosen = AppSettings::defaultDevice();
  QString text = m_autoDevice;
  if (chosen == "cpu") {
    text = tr("cpu");
  } else if (chosen.startsWith("cuda:")) {
    const int i = chosen.mid(5).toInt();
    text = i < m_cudaDevices.size() ? m_cudaDevices[i]
                                    : tr("%1 not present, using %2").arg(chosen, m_autoDevice);
  }
  m_deviceLabel->setText(tr("Device: %1").arg(text));
}
