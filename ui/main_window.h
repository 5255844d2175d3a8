// MainWindow: the workbench shell. A sidebar of pages (only pages whose
// capability works; today: Experiments) over a stack, the File menu (new, open,
// recent projects, settings, quit), a status bar with the compute device and
// the project, and the log dock fed by the engine log.
#pragma once
#include <QMainWindow>
#include <QStyle>
#include <QStringList>

#include "ui/project.h"

class AttentionPage;
class ExperimentsPage;
class FinetunePage;
class PlaygroundPage;
class PromptTunePage;
class LogDock;
class QLabel;
class QListWidget;
class QMenu;
class QStackedWidget;
class WelcomePage;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Opens the last project (QSettings), or shows the welcome page.
  void startup();
  // Returns false and sets *error (also logged) when dir is not a project.
  bool openProject(const QString& dir, QString* error = nullptr);
  bool createProject(const QString& dir, const QString& name, QString* error = nullptr);
  void closeProject();
  const std::optional<Project>& project() const { return m_project; }

  ExperimentsPage* experimentsPage() const { return m_experiments; }
  PlaygroundPage* playgroundPage() const { return m_playground; }
  AttentionPage* attentionPage() const { return m_attention; }
  FinetunePage* finetunePage() const { return m_finetune; }
  PromptTunePage* promptTunePage() const { return m_promptTune; }
  QListWidget* sidebar() const { return m_sidebar; }
  QStackedWidget* pages() const { return m_pages; }
  LogDock* logDock() const { return m_log; }
  QString deviceText() const;
  void applySettings();  // theme and device label, after the settings change

 signals:
  void systemInfoReady();

 private:
  void buildMenus();
  void rebuildRecentMenu();
  void newProjectInteractive();
  void openProjectInteractive();
  void showSettings();
  void querySystem();
  void updateDeviceLabel();
  void showPage(int sidebarRow);
  void addNavPage(QWidget* page, QStyle::StandardPixmap icon, const QString& title);
  void showNavPage(QWidget* page);

  std::optional<Project> m_project;
  QListWidget* m_sidebar = nullptr;
  QStackedWidget* m_pages = nullptr;
  WelcomePage* m_welcome = nullptr;
  ExperimentsPage* m_experiments = nullptr;
  PlaygroundPage* m_playground = nullptr;
  AttentionPage* m_attention = nullptr;
  FinetunePage* m_finetune = nullptr;
  PromptTunePage* m_promptTune = nullptr;
  QList<QWidget*> m_navPages;  // sidebar row -> page
  LogDock* m_log = nullptr;
  QMenu* m_recentMenu = nullptr;
  QLabel* m_deviceLabel = nullptr;
  QLabel* m_projectLabel = nullptr;
  QStringList m_cudaDevices;   // labels, index = CUDA ordinal
  QString m_autoDevice;        // describe_default_device(), once known
};
