// PromptTablePanel (see prompt_table_panel.h): the path and task controls, and the field
// editor generated from the chosen task's template (virtual-token markers shown as the chips
// they become, fields in blue, the answer field marked as what the model writes).
#include "ui/playground/prompt_table_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace {

// The template as rich text: <|VIRTUAL_PROMPT_n|> as an orange [n virtual], {field} in blue,
// {answer} as the model's part.
QString templateHtml(const PromptTableTask& t) {
  static const QRegularExpression re(R"(<\|VIRTUAL_PROMPT_([0-9]+)\|>|\{([A-Za-z0-9_]+)\})");
  QString out;
  qsizetype at = 0;
  for (auto it = re.globalMatch(t.promptTemplate); it.hasNext();) {
    const auto m = it.next();
    out += t.promptTemplate.mid(at, m.capturedStart() - at).toHtmlEscaped();
    if (!m.captured(1).isEmpty()) {
      out +=
          QString("<span style='background:#fde3c0;color:#8a4b00'>[V%1]</span>").arg(m.captured(1));
    } else if (m.captured(2) == t.answerField) {
      out +=
          QString("<span style='background:#e3f1e3;color:#1b5e20'><i>{%1} ← generated</i></span>")
              .arg(m.captured(2));
    } else {
      out += QString("<span style='color:#1e64dc'><b>{%1}</b></span>").arg(m.captured(2));
    }
    at = m.capturedEnd();
  }
  out += t.promptTemplate.mid(at).toHtmlEscaped();
  out.replace("\n", "<br>");
  return out;
}

}  // namespace

PromptTablePanel::PromptTablePanel(QWidget* parent) : QGroupBox(tr("Prompt table"), parent) {
  qRegisterMetaType<PromptTableTasks>("PromptTableTasks");
  setObjectName("promptTableBox");
  setCheckable(true);
  setChecked(false);
  setToolTip(
      tr("Generate through a tuned prompt table: its virtual tokens go in front of (or "
         "inside) the task's template, filled from the fields."));
  auto* v = new QVBoxLayout(this);
  auto* row = new QHBoxLayout;
  m_path = new QLineEdit;
  m_path->setObjectName("promptTablePath");
  m_path->setPlaceholderText(tr("table .safetensors or PEFT adapter folder"));
  m_browse = new QPushButton(tr("Browse…"));
  row->addWidget(m_path, 1);
  row->addWidget(m_browse);
  v->addLayout(row);
  auto* taskRow = new QHBoxLayout;
  taskRow->addWidget(new QLabel(tr("Task")));
  m_task = new QComboBox;
  m_task->setObjectName("promptTableTask");
  m_task->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  taskRow->addWidget(m_task, 1);
  v->addLayout(taskRow);
  m_status = new QLabel(tr("No table loaded."));
  m_status->setObjectName("promptTableStatus");
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  v->addWidget(m_status);

  m_fieldsWidget = new QWidget;
  m_fieldsWidget->setObjectName("promptTableFields");
  auto* fv = new QVBoxLayout(m_fieldsWidget);
  fv->setContentsMargins(0, 0, 0, 0);
  m_template = new QLabel;
  m_template->setObjectName("promptTableTemplate");
  m_template->setWordWrap(true);
  m_template->setTextFormat(Qt::RichText);
  m_template->setStyleSheet(
      "QLabel { background: #f6f7f9; border: 1px solid #dde1e6;"
      " border-radius: 4px; padding: 4px; }");
  fv->addWidget(m_template);
  m_fieldsForm = new QFormLayout;
  fv->addLayout(m_fieldsForm);
  rebuildFields();

  setEnabled(true);
  connect(this, &QGroupBox::toggled, this, [this](bool on) {
    if (on && !path().isEmpty() && m_loadedPath != path()) requestLoad();
    const bool active = isActive();
    if (active != m_wasActive) emit activeChanged(m_wasActive = active);
  });
  connect(m_path, &QLineEdit::editingFinished, this, [this] {
    if (isChecked() && !path().isEmpty() && path() != m_loadedPath && path() != m_requestedPath)
      requestLoad();
  });
  connect(m_browse, &QPushButton::clicked, this, &PromptTablePanel::browse);
  connect(m_task, &QComboBox::currentIndexChanged, this, &PromptTablePanel::rebuildFields);
}

QString PromptTablePanel::path() const {
  return m_path->text().trimmed();
}

void PromptTablePanel::setPath(const QString& p) {
  m_path->setText(p);
  if (isChecked() && !path().isEmpty() && path() != m_loadedPath) requestLoad();
}

void PromptTablePanel::browse() {
  const QString start = path().isEmpty() ? m_startFolder : QFileInfo(path()).absolutePath();
  QString f = QFileDialog::getOpenFileName(
      this, tr("Prompt table"), start,
      tr("Prompt tables (*.safetensors);;PEFT adapter (adapter_config.json);;All files (*)"));
  if (f.isEmpty()) return;
  // A PEFT adapter is a folder: picking any file of it means the folder.
  const QFileInfo fi(f);
  if (fi.fileName() == "adapter_config.json" ||
      (fi.fileName() == "adapter_model.safetensors" &&
       QFileInfo::exists(fi.dir().filePath("adapter_config.json"))))
    f = fi.absolutePath();
  if (!isChecked()) setChecked(true);
  setPath(f);
}

void PromptTablePanel::requestLoad() {
  m_requestedPath = path();
  setLoading(m_requestedPath);
  emit loadRequested(m_requestedPath);
}

void PromptTablePanel::setLoading(const QString& p) {
  m_tasks.clear();
  m_loadedPath.clear();
  m_task->clear();
  m_status->setStyleSheet({});
  m_status->setText(tr("Loading %1 …").arg(QFileInfo(p).fileName()));
  if (m_wasActive) emit activeChanged(m_wasActive = false);
}

void PromptTablePanel::setTasks(const QString& p, const PromptTableTasks& tasks) {
  if (p != m_requestedPath) return;  // an older request
  m_tasks = tasks;
  m_loadedPath = p;
  m_requestedPath.clear();
  const QString keep = m_task->currentText();
  m_task->blockSignals(true);
  m_task->clear();
  for (const auto& t : tasks) m_task->addItem(t.name);
  m_task->blockSignals(false);
  if (!keep.isEmpty()) setCurrentTask(keep);
  rebuildFields();
  m_status->setStyleSheet({});
  m_status->setText(
      tr("%n task(s) from %1", nullptr, int(tasks.size())).arg(QFileInfo(p).fileName()));
  const bool active = isActive();
  if (active != m_wasActive) emit activeChanged(m_wasActive = active);
}

void PromptTablePanel::setLoadError(const QString& p, const QString& error) {
  if (p != m_requestedPath) return;
  m_requestedPath.clear();
  m_status->setStyleSheet("QLabel { color: #8a1c14; }");
  m_status->setText(error);
}

void PromptTablePanel::forgetTable() {
  m_tasks.clear();
  m_loadedPath.clear();
  m_requestedPath.clear();
  m_task->clear();
  m_status->setStyleSheet({});
  m_status->setText(tr("No table loaded."));
  if (m_wasActive) emit activeChanged(m_wasActive = false);
}

QString PromptTablePanel::currentTask() const {
  return m_task->currentText();
}

bool PromptTablePanel::setCurrentTask(const QString& name) {
  const int i = m_task->findText(name);
  if (i < 0) return false;
  m_task->setCurrentIndex(i);
  return true;
}

QMap<QString, QString> PromptTablePanel::fieldValues() const {
  QMap<QString, QString> out;
  for (auto it = m_fieldEdits.begin(); it != m_fieldEdits.end(); ++it)
    out[it.key()] = it.value()->text();
  return out;
}

QLineEdit* PromptTablePanel::fieldEdit(const QString& field) const {
  return m_fieldEdits.value(field);
}

// One line edit per field of the current task; values typed for a field keep across tasks
// that share it.
void PromptTablePanel::rebuildFields() {
  QMap<QString, QString> values = fieldValues();
  while (m_fieldsForm->rowCount() > 0) m_fieldsForm->removeRow(0);
  m_fieldEdits.clear();
  const int i = m_task->currentIndex();
  if (i < 0 || i >= m_tasks.size()) {
    m_template->setText(
        tr("<i>No prompt table loaded: the task's template and one field per "
           "placeholder appear here.</i>"));
    return;
  }
  const PromptTableTask& t = m_tasks[i];
  m_template->setText(
      templateHtml(t) +
      tr("<br><span style='color:#666'>%n virtual token(s)</span>", nullptr, t.virtualTokens));
  for (const QString& f : t.fields) {
    auto* e = new QLineEdit(values.value(f));
    e->setObjectName("field_" + f);
    e->setPlaceholderText(tr("{%1}").arg(f));
    m_fieldsForm->addRow(f, e);
    m_fieldEdits[f] = e;
  }
  if (t.fields.isEmpty())
    m_fieldsForm->addRow(new QLabel(tr("<i>This template has no fields to fill.</i>")));
}
