// Parameters arrive as a JSON object string; nested objects and arrays become
// tree branches so a long hyper-parameter set stays browsable.
#include "ui/experiments/run_details_view.h"

#include <QDateTime>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLocale>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QTableWidget>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "ui/experiments/run_table_model.h"

namespace {

void addJson(QTreeWidgetItem* parent, QTreeWidget* tree, const QString& key, const QJsonValue& v) {
  auto* item = parent ? new QTreeWidgetItem(parent) : new QTreeWidgetItem(tree);
  item->setText(0, key);
  if (v.isObject()) {
    const QJsonObject o = v.toObject();
    for (auto it = o.begin(); it != o.end(); ++it) addJson(item, tree, it.key(), it.value());
  } else if (v.isArray()) {
    const QJsonArray a = v.toArray();
    for (int i = 0; i < a.size(); ++i) addJson(item, tree, QString("[%1]").arg(i), a[i]);
  } else if (v.isString()) {
    item->setText(1, v.toString());
  } else if (v.isBool()) {
    item->setText(1, v.toBool() ? "true" : "false");
  } else if (v.isDouble()) {
    item->setText(1, QString::number(v.toDouble(), 'g', 8));
  } else {
    item->setText(1, "null");
  }
}

QString formatTime(double t) {
  return t > 0 ? QDateTime::fromMSecsSinceEpoch(qint64(t * 1000)).toString("yyyy-MM-dd HH:mm:ss")
               : QStringLiteral("—");
}

}  // namespace

RunDetailsView::RunDetailsView(QWidget* parent) : QTabWidget(parent) {
  m_info = new QLabel(this);
  m_info->setTextFormat(Qt::RichText);
  m_info->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_info->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  m_info->setWordWrap(true);
  m_info->setMargin(6);
  auto* infoScroll = new QScrollArea(this);
  infoScroll->setWidget(m_info);
  infoScroll->setWidgetResizable(true);
  infoScroll->setFrameShape(QFrame::NoFrame);

  m_params = new QTreeWidget(this);
  m_params->setHeaderLabels({tr("Parameter"), tr("Value")});
  m_params->setAlternatingRowColors(true);
  m_params->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);

  m_artifacts = new QTableWidget(0, 4, this);
  m_artifacts->setHorizontalHeaderLabels({tr("Kind"), tr("Path"), tr("Size"), tr("SHA-256")});
  m_artifacts->horizontalHeader()->setStretchLastSection(true);
  m_artifacts->verticalHeader()->hide();
  m_artifacts->setEditTriggers(QAbstractItemView::NoEditTriggers);

  auto* notesPage = new QWidget(this);
  m_notes = new QPlainTextEdit(notesPage);
  m_notes->setPlaceholderText(tr("Notes about this run…"));
  m_saveNotes = new QPushButton(tr("Save notes"), notesPage);
  m_saveNotes->setEnabled(false);
  auto* notesLayout = new QVBoxLayout(notesPage);
  notesLayout->setContentsMargins(4, 4, 4, 4);
  notesLayout->addWidget(m_notes);
  notesLayout->addWidget(m_saveNotes, 0, Qt::AlignRight);

  addTab(infoScroll, tr("Run"));
  addTab(m_params, tr("Parameters"));
  addTab(m_artifacts, tr("Artifacts"));
  addTab(notesPage, tr("Notes"));
  connect(m_notes, &QPlainTextEdit::modificationChanged, m_saveNotes, &QPushButton::setEnabled);
  connect(m_saveNotes, &QPushButton::clicked, this,
          [this] { emit saveNotesRequested(m_runId, m_notes->toPlainText()); });
  clear();
}

bool RunDetailsView::notesModified() const { return m_notes->document()->isModified(); }

void RunDetailsView::markNotesSaved() { m_notes->document()->setModified(false); }

void RunDetailsView::clear() {
  m_runId = 0;
  m_info->setText(tr("<i>Select a run to see its details.</i>"));
  m_params->clear();
  m_artifacts->setRowCount(0);
  m_notes->clear();
  m_notes->setEnabled(false);
  m_notes->document()->setModified(false);
}

void RunDetailsView::showDetails(const RunDetails& d) {
  const bool sameRun = d.run.id == m_runId;
  m_runId = d.run.id;
  showInfo(d);

  m_params->clear();
  const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(d.run.parameters_json));
  const QJsonObject params = doc.object();
  for (auto it = params.begin(); it != params.end(); ++it) addJson(nullptr, m_params, it.key(), it.value());
  m_params->expandAll();

  m_artifacts->setRowCount(int(d.artifacts.size()));
  for (int i = 0; i < int(d.artifacts.size()); ++i) {
    const lw::Artifact& a = d.artifacts[i];
    m_artifacts->setItem(i, 0, new QTableWidgetItem(QString::fromStdString(a.kind)));
    m_artifacts->setItem(i, 1, new QTableWidgetItem(QString::fromStdString(a.path)));
    m_artifacts->setItem(i, 2, new QTableWidgetItem(QLocale().formattedDataSize(a.bytes)));
    m_artifacts->setItem(i, 3, new QTableWidgetItem(QString::fromStdString(a.sha256)));
  }
  m_artifacts->resizeColumnsToContents();

  // Keep the user's unsaved typing when the same run is refreshed live.
  if (!(sameRun && notesModified())) {
    m_notes->setPlainText(QString::fromStdString(d.run.notes));
    m_notes->document()->setModified(false);
  }
  m_notes->setEnabled(true);
}

void RunDetailsView::showInfo(const RunDetails& d) {
  const lw::RunRecord& r = d.run;
  auto row = [](const QString& k, const QString& v) {
    return QStringLiteral("<tr><td style='padding-right:12px'><b>%1</b></td><td>%2</td></tr>")
        .arg(k, v.toHtmlEscaped());
  };
  QStringList tags;
  for (const auto& t : r.tags) tags << QString::fromStdString(t);
  QString html = QStringLiteral("<h3>%1</h3><table>").arg(RunTableModel::runLabel(r).toHtmlEscaped());
  html += row(tr("Kind"), QString::fromStdString(r.kind));
  html += row(tr("Status"), QString::fromLatin1(lw::run_status_name(r.status)));
  if (!r.error_message.empty()) html += row(tr("Error"), QString::fromStdString(r.error_message));
  html += row(tr("Model"), QString::fromStdString(r.model));
  html += row(tr("Dataset"), QString::fromStdString(r.dataset));
  html += row(tr("Created"), formatTime(r.created));
  html += row(tr("Started"), formatTime(r.started));
  html += row(tr("Ended"), formatTime(r.ended));
  if (!tags.isEmpty()) html += row(tr("Tags"), tags.join(", "));
  for (const auto& [name, value] : r.final_metrics)
    html += row(QString::fromStdString(name), QString::number(value, 'g', 6));
  if (!d.system.host.empty()) html += row(tr("Host"), QString::fromStdString(d.system.host));
  if (!d.system.gpu.empty()) html += row(tr("GPU"), QString::fromStdString(d.system.gpu));
  if (!d.system.cpu.empty()) html += row(tr("CPU"), QString::fromStdString(d.system.cpu));
  if (!d.system.build.empty()) html += row(tr("Build"), QString::fromStdString(d.system.build));
  m_info->setText(html + "</table>");
}
