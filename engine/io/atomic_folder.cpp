#include "engine/io/atomic_folder.h"

#include <filesystem>

namespace lw::io {
namespace fs = std::filesystem;

Status remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return io_error(path + ": cannot remove (" + ec.message() + ")");
  return Status::ok();
}

Status write_folder_atomic(const std::string& dir, const std::function<Status(const std::string&)>& fill) {
  const std::string tmp = dir + ".tmp";
  LW_TRY(remove_tree(tmp));
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) return io_error(tmp + ": cannot create folder (" + ec.message() + ")");
  if (Status st = fill(tmp); !st.is_ok()) {
    (void)remove_tree(tmp);
    return st;
  }
  // Replace the old folder: move it aside, move the new one in, drop the old one. A crash in
  // between leaves either the old folder, or dir.old + the complete dir.tmp.
  const std::string old = dir + ".old";
  LW_TRY(remove_tree(old));
  if (fs::exists(dir, ec)) {
    fs::rename(dir, old, ec);
    if (ec) return io_error(dir + ": cannot move aside (" + ec.message() + ")");
  }
  fs::rename(tmp, dir, ec);
  if (ec) return io_error(tmp + ": cannot rename to " + dir + " (" + ec.message() + ")");
  return remove_tree(old);
}

}  // namespace lw::io
