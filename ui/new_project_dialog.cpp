// The folder name is derived from the project name (spaces and slashes made
// safe) and shown before creation, so the user knows where files will go.
#include "ui/new_project_dialog.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QToolButton>

#include "ui/app_settings.h"

NewProjectDialog::NewProjectDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("New project"));
  m_name = new QLineEdit(this);
  m_name->setPlaceholderText(tr("e.g. sentiment-finetune"));
  m_location = new QLineEdit(AppSettings::projectsFolder(), this);
  m_location->setMinimumWidth(320);
  auto* browse = new QToolButton(this);
  browse->setText(tr("Browse…"));
  auto* row = new QHBoxLayout;
  row->addWidget(m_location, 1);
  row->addWidget(browse);
  m_preview = new QLabel(this);
  m_preview->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Create"));
  auto* form = new QFormLayout(this);
  form->addRow(tr("Name"), m_name);
  form->addRow(tr("Location"), row);
  form->addRow(tr("Folder"), m_preview);
  form->addRow(buttons);
  connect(browse, &QToolButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Location"), m_location->text());
    if (!dir.isEmpty()) m_location->setText(dir);
  });
  connect(m_name, &QLineEdit::textChanged, this, &NewProjectDialog::updatePreview);
  connect(m_location, &QLineEdit::textChanged, this, &NewProjectDialog::updatePreview);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* ok = buttons->button(QDialogButtonBox::Ok);
  connect(m_name, &QLineEdit::textChanged, ok, [ok](const QString& t) { ok->setEnabled(!t.trimmed().isEmpty()); });
  ok->setEnabled(false);
  updatePreview();
}

QString NewProjectDialog::name() const { return m_name->text().trimmed(); }

QString NewProjectDialog::directory() const {
  QString folder = name();
  folder.replace(QRegularExpression("[/\\\\:*?\"<>|\\s]+"), "-");
  return QDir(m_location->text().trimmed()).filePath(folder);
}

void NewProjectDialog::updatePreview() {
  m_preview->setText(name().isEmpty() ? tr("—") : directory());
}
