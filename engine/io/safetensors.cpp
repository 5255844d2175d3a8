// Safetensors reader: mmap the file, validate the header completely before any tensor is
// touched (lengths, JSON, dtypes, shapes, offsets, overlap, overflow), then hand out pointers
// into the mapping. Every error names the file and the tensor or field at fault.
#include "engine/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/io/json_text.h"

namespace lw::io {
namespace {

struct DtypeRow {
  StDtype t;
  const char* name;
  size_t size;
};
constexpr DtypeRow kDtypes[] = {
    {StDtype::kF64, "F64", 8},   {StDtype::kF32, "F32", 4},       {StDtype::kF16, "F16", 2},
    {StDtype::kBF16, "BF16", 2}, {StDtype::kI64, "I64", 8},       {StDtype::kI32, "I32", 4},
    {StDtype::kI16, "I16", 2},   {StDtype::kI8, "I8", 1},         {StDtype::kU8, "U8", 1},
    {StDtype::kBool, "BOOL", 1}, {StDtype::kF8E4M3, "F8_E4M3", 1}, {StDtype::kF8E5M2, "F8_E5M2", 1},
};

constexpr uint64_t kMaxElements = uint64_t{1} << 60;  // keeps numel * 8 far from overflow

// A Git LFS pointer is a short text file saved where the weights should be.
bool looks_like_lfs_pointer(const uint8_t* p, size_t n) {
  static const char kPrefix[] = "version https://git-lfs";
  return n >= sizeof kPrefix - 1 && std::memcmp(p, kPrefix, sizeof kPrefix - 1) == 0;
}

Status parse_tensor_entry(const std::string& where, const nlohmann::json& v, uint64_t data_size,
                          const StReadLimits& limits, StTensorInfo* t) {
  if (!v.is_object()) return invalid_argument(where + ": entry is not a JSON object");
  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) return invalid_argument(where + ": missing string 'dtype'");
  if (!st_dtype_from_name(dt->get<std::string>(), &t->dtype))
    return invalid_argument(where + ": unknown dtype '" + dt->get<std::string>() + "'");
  auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) return invalid_argument(where + ": missing array 'shape'");
  if (static_cast<int>(sh->size()) > limits.max_rank)
    return invalid_argument(where + ": rank " + std::to_string(sh->size()) + " is over the limit");
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned())
      return invalid_argument(where + ": shape entries must be non-negative integers");
    uint64_t n = d.get<uint64_t>();
    if (n > kMaxElements || (n != 0 && numel > kMaxElements / n))
      return invalid_argument(where + ": shape " + sh->dump() + " overflows the element count");
    numel *= n;
    t->shape.push_back(static_cast<int64_t>(n));
  }
  t->numel = static_cast<int64_t>(numel);
  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    return invalid_argument(where + ": 'data_offsets' must be [begin, end] non-negative integers");
  t->begin = (*off)[0].get<uint64_t>();
  t->end = (*off)[1].get<uint64_t>();
  if (t->begin > t->end)
    return invalid_argument(where + ": data_offsets begin " + std::to_string(t->begin) +
                            " > end " + std::to_string(t->end));
  if (t->end > data_size)
    return invalid_argument(where + ": data_offsets [" + std::to_string(t->begin) + ", " +
                            std::to_string(t->end) + "] out of range: the data area has " +
                            std::to_string(data_size) + " bytes (truncated file?)");
  uint64_t want = numel * st_dtype_size(t->dtype);
  if (t->nbytes() != want)
    return invalid_argument(where + ": byte length " + std::to_string(t->nbytes()) +
                            " does not match shape " + sh->dump() + " x " +
                            st_dtype_name(t->dtype) + " (" + std::to_string(want) + " bytes)");
  return Status::ok();
}

}  // namespace

const char* st_dtype_name(StDtype t) {
  for (const auto& r : kDtypes)
    if (r.t == t) return r.name;
  return "?";
}

size_t st_dtype_size(StDtype t) {
  for (const auto& r : kDtypes)
    if (r.t == t) return r.size;
  return 0;
}

bool st_dtype_from_name(const std::string& name, StDtype* out) {
  for (const auto& r : kDtypes)
    if (name == r.name) {
      *out = r.t;
      return true;
    }
  return false;
}

Status parse_st_header(const std::string& source, const char* json, size_t len, uint64_t data_size,
                       const StReadLimits& limits, std::vector<StTensorInfo>* tensors,
                       std::map<std::string, std::string>* metadata) {
  LW_ASSIGN_OR_RETURN(nlohmann::json h,
                      parse_json_text(source + ": header", json, len, limits.max_json_depth));
  if (!h.is_object()) return invalid_argument(source + ": header is not a JSON object");
  tensors->clear();
  metadata->clear();
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) return invalid_argument(source + ": __metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string())
          return invalid_argument(source + ": __metadata__ value '" + m.key() +
                                  "' is not a string");
        (*metadata)[m.key()] = m->get<std::string>();
      }
      continue;
    }
    StTensorInfo t;
    t.name = it.key();
    LW_TRY(parse_tensor_entry(source + ": tensor '" + t.name + "'", *it, data_size, limits, &t));
    tensors->push_back(std::move(t));
  }
  std::sort(tensors->begin(), tensors->end(), [](const StTensorInfo& a, const StTensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < tensors->size(); ++i) {
    const auto& a = (*tensors)[i - 1];
    const auto& b = (*tensors)[i];
    if (b.begin < a.end)
      return invalid_argument(source + ": tensors '" + a.name + "' [" + std::to_string(a.begin) +
                              ", " + std::to_string(a.end) + "] and '" + b.name + "' [" +
                              std::to_string(b.begin) + ", " + std::to_string(b.end) +
                              "] overlap");
  }
  return Status::ok();
}

Result<SafeTensorsFile> SafeTensorsFile::open(const std::string& path,
                                              const StReadLimits& limits) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return not_found(path + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_argument(path + ": not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return invalid_argument(path + ": file of " + std::to_string(size) +
                            " bytes is too small for a safetensors header");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return io_error(path + ": mmap failed (" + std::strerror(errno) + ")");
  SafeTensorsFile f;
  f.path_ = path;
  f.map_ = map;
  f.map_size_ = size;
  const auto* bytes = static_cast<const uint8_t*>(map);
  if (looks_like_lfs_pointer(bytes, size))
    return invalid_argument(path + ": is a Git LFS pointer, not the weights (run 'git lfs pull')");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > size - 8)
    return invalid_argument(path + ": header length " + std::to_string(n) +
                            " exceeds the file size (" + std::to_string(size) + " bytes)");
  if (n > limits.max_header_bytes)
    return invalid_argument(path + ": header length " + std::to_string(n) + " is over the " +
                            std::to_string(limits.max_header_bytes) + "-byte limit");
  LW_TRY(parse_st_header(path, reinterpret_cast<const char*>(bytes + 8), n, size - 8 - n, limits,
                         &f.tensors_, &f.metadata_));
  f.data_ = bytes + 8 + n;
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_[f.tensors_[i].name] = i;
  return f;
}

SafeTensorsFile::SafeTensorsFile(SafeTensorsFile&& o) noexcept { *this = std::move(o); }

SafeTensorsFile& SafeTensorsFile::operator=(SafeTensorsFile&& o) noexcept {
  if (this != &o) {
    release();
    path_ = std::move(o.path_);
    map_ = o.map_;
    map_size_ = o.map_size_;
    data_ = o.data_;
    tensors_ = std::move(o.tensors_);
    index_ = std::move(o.index_);
    metadata_ = std::move(o.metadata_);
    o.map_ = nullptr;
    o.map_size_ = 0;
    o.data_ = nullptr;
  }
  return *this;
}

SafeTensorsFile::~SafeTensorsFile() { release(); }

void SafeTensorsFile::release() {
  if (map_) ::munmap(map_, map_size_);
  map_ = nullptr;
}

const StTensorInfo* SafeTensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace lw::io
