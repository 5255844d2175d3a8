// llm-workbench: the desktop application. Composition only: the Qt
// application, its settings identity, and the main window (ui/).
#include <QApplication>
#include <QIcon>

#include "engine/core/build_info.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("LLM Workbench");
  QApplication::setApplicationName("LLM Workbench");
  QApplication::setApplicationVersion(QString::fromLatin1(lw::build::kVersion));
  QApplication::setWindowIcon(QIcon(":/icons/app.svg"));
  MainWindow window;
  window.show();
  window.startup();
  return app.exec();
}
