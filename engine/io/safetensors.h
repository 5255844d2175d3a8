// Safetensors files: read through mmap with every header field validated (a checkpoint
// from the internet is untrusted input), and written atomically (temporary file, flush,
// rename) so a crash never leaves half a checkpoint. Format: u64 little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {string: string}}, then the data area; offsets are relative to the data area.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace lw::io {

// Element types a safetensors header may name ("F32", "BF16", ...).
enum class StDtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool, kF8E4M3, kF8E5M2 };

const char* st_dtype_name(StDtype t);     // "F32"
size_t st_dtype_size(StDtype t);          // bytes per element
bool st_dtype_from_name(const std::string& name, StDtype* out);

struct StTensorInfo {
  std::string name;
  StDtype dtype = StDtype::kF32;
  std::vector<int64_t> shape;
  int64_t numel = 0;
  uint64_t begin = 0, end = 0;  // byte range inside the data area
  uint64_t nbytes() const { return end - begin; }
};

struct StReadLimits {
  uint64_t max_header_bytes = 100ull << 20;  // the reference implementation's limit
  int max_json_depth = 32;                   // a valid header nests 3 levels
  int max_rank = 16;
};

// An open, validated, memory-mapped safetensors file. Move-only; unmaps on destruction.
class SafeTensorsFile {
 public:
  static Result<SafeTensorsFile> open(const std::string& path, const StReadLimits& limits = {});
  SafeTensorsFile(SafeTensorsFile&&) noexcept;
  SafeTensorsFile& operator=(SafeTensorsFile&&) noexcept;
  SafeTensorsFile(const SafeTensorsFile&) = delete;
  SafeTensorsFile& operator=(const SafeTensorsFile&) = delete;
  ~SafeTensorsFile();

  const std::string& path() const { return path_; }
  // Tensors in data-offset order.
  const std::vector<StTensorInfo>& tensors() const { return tensors_; }
  const StTensorInfo* find(const std::string& name) const;
  const uint8_t* data(const StTensorInfo& t) const { return data_ + t.begin; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafeTensorsFile() = default;
  void release();
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data area
  std::vector<StTensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Validates a header already in memory (exposed for tests and for the reader).
// `data_size` is the number of bytes after the header; `source` names the file in errors.
Status parse_st_header(const std::string& source, const char* json, size_t len, uint64_t data_size,
                       const StReadLimits& limits, std::vector<StTensorInfo>* tensors,
                       std::map<std::string, std::string>* metadata);

// One tensor to write: raw bytes of `shape` elements of `dtype`, row-major.
struct StTensorData {
  std::string name;
  StDtype dtype = StDtype::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  uint64_t nbytes = 0;
};

// Writes `tensors` (in the given order) to `path` through a temporary file in the same folder,
// flushed and fsync'ed, then renamed over `path`.
Status write_safetensors(const std::string& path, const std::vector<StTensorData>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

// Writes `text` to `path` atomically (same temporary-file-and-rename path as above).
Status write_file_atomic(const std::string& path, const std::string& text);

}  // namespace lw::io
