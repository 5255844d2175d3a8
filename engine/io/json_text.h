// Guards for JSON that comes from files we did not write (safetensors headers, config.json,
// shard indexes): a nesting-depth check before parsing, so a hostile file costs bounded time
// and stack, and a parse that reports "<file>: not valid JSON (...)" instead of throwing.
#pragma once
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/status.h"

namespace lw::io {

// Rejects text whose arrays/objects nest deeper than max_depth (strings are skipped).
Status check_json_depth(const std::string& source, const char* text, size_t len, int max_depth);

// Depth check, then parse without exceptions; names `source` in every error.
Result<nlohmann::json> parse_json_text(const std::string& source, const char* text, size_t len,
                                       int max_depth);

// Reads a whole (small) text file; `max_bytes` bounds what a hostile file can make us allocate.
Result<std::string> read_text_file(const std::string& path, size_t max_bytes);

}  // namespace lw::io
