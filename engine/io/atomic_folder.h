// A folder written as a whole: filled under a temporary name beside it, then renamed into
// place, so a crash leaves either the old folder or the complete new one, never half of it.
#pragma once
#include <functional>
#include <string>

#include "engine/core/status.h"

namespace lw::io {

// Calls fill(tmp) on an empty temporary folder beside `dir` and, when it succeeds, puts that
// folder in place of `dir` (an existing `dir` is replaced). On failure `dir` is untouched
// and the temporary folder removed.
Status write_folder_atomic(const std::string& dir, const std::function<Status(const std::string& tmp)>& fill);

// Removes a file or folder tree; a missing path is fine.
Status remove_tree(const std::string& path);

}  // namespace lw::io
