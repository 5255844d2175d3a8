// A Hugging Face config.json, read defensively and queried by alias lists: checkpoints on
// users' disks were written by many transformers releases, so one field may be spelled
// "n_embd" or "hidden_size", "torch_dtype" or "dtype", "rope_theta" at the top level or as
// "rope_parameters.rope_theta". Every getter names the file and the field in its errors and
// checks the value against a range, so absurd configs (10^12 layers) fail before allocation.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace lw::io {

// Field names to try in order; "a.b" looks inside the object "a".
using Aliases = std::vector<std::string>;

class HfConfig {
 public:
  static Result<HfConfig> read(const std::string& path);
  static Result<HfConfig> parse(const std::string& source, const std::string& text);

  const std::string& source() const { return source_; }
  bool has(const Aliases& names) const;
  // Required fields: missing, wrong type or out of [lo, hi] is an error.
  Result<int64_t> get_int(const Aliases& names, int64_t lo, int64_t hi) const;
  Result<double> get_double(const Aliases& names, double lo, double hi) const;
  Result<std::string> get_string(const Aliases& names) const;
  // Optional fields: `fallback` when absent or null; still an error when present but bad.
  Result<int64_t> get_int(const Aliases& names, int64_t lo, int64_t hi, int64_t fallback) const;
  Result<double> get_double(const Aliases& names, double lo, double hi, double fallback) const;
  Result<bool> get_bool(const Aliases& names, bool fallback) const;
  Result<std::string> get_string(const Aliases& names, const std::string& fallback) const;

  // Number of entries of an object or array field; -1 when absent or of another type.
  int64_t count(const Aliases& names) const;

  std::string architecture() const;  // architectures[0], or "" when absent
  std::string model_type() const;    // "" when absent
  std::string dtype() const;         // torch_dtype / dtype, "" when absent
  std::string dump(int indent = 2) const;

 private:
  struct Impl;
  HfConfig() = default;
  std::string source_;
  std::shared_ptr<const Impl> impl_;
};

// Limits for reading JSON files that are expected to be small.
constexpr size_t kMaxConfigBytes = 16u << 20;
constexpr int kMaxConfigDepth = 32;

}  // namespace lw::io
