// ExperimentStore and the file system: artifacts (hashed and sized when they
// are added), deleting runs with their files, and exports. Exports go to a
// temporary file beside the target, are flushed to disk, then renamed over it,
// so a reader never sees half a file.
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/store/sha256.h"
#include "engine/store/store_impl.h"

namespace lw {
namespace fs = std::filesystem;
using store::Stmt;

namespace {

fs::path resolve(const std::string& project_dir, const std::string& path) {
  fs::path p(path);
  return p.is_absolute() ? p : fs::path(project_dir) / p;
}

// Folders: the sum of their regular files' sizes.
Result<int64_t> folder_bytes(const fs::path& dir) {
  std::error_code ec;
  int64_t total = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) total += int64_t(it->file_size(ec));
    if (ec) break;
  }
  if (ec) return io_error(dir.string() + ": cannot list the folder: " + ec.message());
  return total;
}

bool inside(const fs::path& child, const fs::path& parent) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(child, ec), p = fs::weakly_canonical(parent, ec);
  auto rel = c.lexically_relative(p);
  return !rel.empty() && *rel.begin() != ".." && rel != ".";
}

Status write_atomically(const std::string& out_path, const std::string& text) {
  std::string tmp = out_path + ".tmp-" + std::to_string(getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return io_error(out_path + ": cannot write: " + std::strerror(errno));
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return io_error(out_path + ": writing failed: " + why);
  }
  return Status::ok();
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // Shortest text that reads back to the same double, whatever the C locale
  // (Qt sets it from the environment; printf would write "0,25" in some).
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

// JSON has no NaN or Inf: they are written as null.
nlohmann::json json_number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

}  // namespace

Result<int64_t> ExperimentStore::add_artifact(int64_t run_id, const std::string& kind,
                                              const std::string& path) {
  LW_TRY(impl_->require_writable());
  LW_CHECK(!kind.empty(), "add_artifact: the artifact kind is empty");
  LW_CHECK(!path.empty(), "add_artifact: the artifact path is empty");
  fs::path full = resolve(impl_->project_dir, path);
  std::error_code ec;
  auto st = fs::status(full, ec);
  if (ec || !fs::exists(st)) return not_found(full.string() + ": artifact not found");
  std::string sha;
  int64_t bytes = 0;
  if (fs::is_directory(st)) {
    LW_ASSIGN_OR_RETURN(bytes, folder_bytes(full));
  } else {
    LW_ASSIGN_OR_RETURN(sha, sha256_file(full.string()));
    bytes = int64_t(fs::file_size(full, ec));
    if (ec) return io_error(full.string() + ": cannot read the size: " + ec.message());
  }
  store::WriteTxn txn(impl_->db);
  LW_TRY(txn.begin());
  LW_TRY(impl_->require_run(run_id));
  Stmt s(impl_->db, "INSERT INTO artifacts (run_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?)");
  s.bind(1, run_id).bind(2, kind).bind(3, path).bind(4, sha).bind(5, bytes);
  LW_TRY(s.run());
  int64_t id = sqlite3_last_insert_rowid(impl_->db.handle());
  LW_TRY(txn.commit());
  return id;
}

Status ExperimentStore::delete_run(int64_t run_id, bool delete_files) {
  LW_TRY(impl_->require_writable());
  LW_ASSIGN_OR_RETURN(std::vector<Artifact> arts, artifacts(run_id));
  store::WriteTxn txn(impl_->db);
  LW_TRY(txn.begin());
  LW_TRY(impl_->require_run(run_id));
  for (const char* table : {"metric_points", "artifacts", "run_notes", "run_tags", "system_info"}) {
    Stmt s(impl_->db, (std::string("DELETE FROM ") + table + " WHERE run_id = ?").c_str());
    s.bind(1, run_id);
    LW_TRY(s.run());
  }
  Stmt s(impl_->db, "DELETE FROM runs WHERE id = ?");
  s.bind(1, run_id);
  LW_TRY(s.run());
  LW_TRY(txn.commit());
  if (!delete_files) return Status::ok();
  // Rows first: a file that cannot be removed leaves no row pointing at half a folder.
  // Files outside the project folder are never touched (they may be shared).
  std::string failed;
  for (const Artifact& a : arts) {
    fs::path full = resolve(impl_->project_dir, a.path);
    if (!inside(full, impl_->project_dir)) continue;
    std::error_code ec;
    fs::remove_all(full, ec);
    if (!ec) continue;
    failed += ' ';
    failed += full.string() + " (" + ec.message() + ")";
  }
  if (!failed.empty())
    return io_error(path() + ": run " + std::to_string(run_id) +
                    " was deleted but some artifact files could not be:" + failed);
  return Status::ok();
}

Status ExperimentStore::export_run_csv(int64_t run_id, const std::string& out_path) {
  LW_TRY(impl_->require_run(run_id));
  Stmt s(impl_->db,
         "SELECT step, name, value, wall_time FROM metric_points WHERE run_id = ? "
         "ORDER BY name, step, rowid");
  s.bind(1, run_id);
  std::string text = "step,name,value,wall_time\n";
  for (;;) {
    LW_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    text += std::to_string(s.col_int(0)) + "," + csv_field(s.col_text(1)) + "," +
            number(s.col_double_or_nan(2)) + "," + number(s.col_double(3)) + "\n";
  }
  return write_atomically(out_path, text);
}

Status ExperimentStore::export_run_json(int64_t run_id, const std::string& out_path) {
  LW_ASSIGN_OR_RETURN(RunRecord r, get_run(run_id));
  nlohmann::json run = {{"id", r.id}, {"kind", r.kind}, {"name", r.name}, {"model", r.model},
                        {"dataset", r.dataset}, {"status", run_status_name(r.status)},
                        {"created", r.created}, {"started", r.started}, {"ended", r.ended},
                        {"heartbeat", r.heartbeat}, {"error_message", r.error_message},
                        {"tags", r.tags}, {"notes", r.notes}};
  auto params = nlohmann::json::parse(r.parameters_json, nullptr, false);
  run["parameters"] = params.is_discarded() ? nlohmann::json(r.parameters_json) : params;
  nlohmann::json metrics = nlohmann::json::object();
  LW_ASSIGN_OR_RETURN(std::vector<std::string> names, metric_names(run_id));
  for (const std::string& name : names) {
    LW_ASSIGN_OR_RETURN(MetricSeries m, read_metric(run_id, name));
    nlohmann::json values = nlohmann::json::array();
    for (double v : m.values) values.push_back(json_number(v));
    metrics[name] = {{"steps", m.steps}, {"values", values}, {"wall_times", m.wall_times}};
  }
  nlohmann::json arts = nlohmann::json::array();
  LW_ASSIGN_OR_RETURN(std::vector<Artifact> list, artifacts(run_id));
  for (const Artifact& a : list)
    arts.push_back({{"id", a.id}, {"kind", a.kind}, {"path", a.path}, {"sha256", a.sha256},
                    {"bytes", a.bytes}});
  LW_ASSIGN_OR_RETURN(SystemInfo si, system_info(run_id));
  nlohmann::json doc = {{"run", run}, {"metrics", metrics}, {"artifacts", arts},
                        {"system", {{"host", si.host}, {"cpu", si.cpu}, {"gpu", si.gpu},
                                    {"driver", si.driver}, {"build", si.build}}}};
  return write_atomically(out_path, doc.dump(2) + "\n");
}

}  // namespace lw
