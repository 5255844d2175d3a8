// Checkpoint folders (single file or sharded) and dtype conversion on load.
#include "engine/io/checkpoint.h"

#include <sys/stat.h>

#include <cstring>
#include <set>

#include "engine/io/hf_config.h"
#include "engine/io/json_text.h"

namespace lw::io {
namespace {

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A shard name from an index must be a plain file name: no folders, no "..", not absolute.
bool safe_shard_name(const std::string& s) {
  return !s.empty() && s.find('/') == std::string::npos && s.find('\\') == std::string::npos &&
         s != "." && s != ".." && s.find('\0') == std::string::npos;
}

Result<std::vector<std::string>> shard_names(const std::string& index_path) {
  LW_ASSIGN_OR_RETURN(std::string text, read_text_file(index_path, kMaxConfigBytes * 4));
  LW_ASSIGN_OR_RETURN(nlohmann::json j,
                      parse_json_text(index_path, text.data(), text.size(), kMaxConfigDepth));
  auto wm = j.is_object() ? j.find("weight_map") : j.end();
  if (wm == j.end() || !wm->is_object())
    return invalid_argument(index_path + ": missing object 'weight_map'");
  std::set<std::string> names;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it->is_string())
      return invalid_argument(index_path + ": weight_map['" + it.key() + "'] is not a string");
    std::string s = it->get<std::string>();
    if (!safe_shard_name(s))
      return invalid_argument(index_path + ": shard '" + s + "' for tensor '" + it.key() +
                              "' points outside the folder");
    names.insert(s);
  }
  if (names.empty()) return invalid_argument(index_path + ": weight_map is empty");
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace

Result<Checkpoint> Checkpoint::open(const std::string& path) {
  Checkpoint c;
  c.path_ = path;
  std::vector<std::string> files;
  if (is_dir(path)) {
    if (is_file(path + "/model.safetensors")) {
      files.push_back(path + "/model.safetensors");
    } else if (is_file(path + "/model.safetensors.index.json")) {
      LW_ASSIGN_OR_RETURN(auto shards, shard_names(path + "/model.safetensors.index.json"));
      for (const auto& s : shards) files.push_back(path + "/" + s);
    } else {
      return not_found(path + ": no model.safetensors or model.safetensors.index.json");
    }
  } else {
    files.push_back(path);
  }
  for (const auto& f : files) {
    LW_ASSIGN_OR_RETURN(SafeTensorsFile st, SafeTensorsFile::open(f));
    c.files_.push_back(std::make_unique<SafeTensorsFile>(std::move(st)));
    const SafeTensorsFile* fp = c.files_.back().get();
    for (const auto& t : fp->tensors()) {
      if (c.tensors_.count(t.name))
        return invalid_argument(f + ": tensor '" + t.name + "' also appears in " +
                                c.tensors_[t.name].file->path());
      c.tensors_[t.name] = CheckpointTensor{fp, &t};
    }
  }
  return c;
}

const CheckpointTensor* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

float bf16_to_f32(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // inf / nan
  } else if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        man <<= 1;
        ++e;
      } while (!(man & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

Status copy_as_f32(const std::string& where, StDtype dtype, const uint8_t* src, int64_t n,
                   float* dst) {
  switch (dtype) {
    case StDtype::kF32:
      std::memcpy(dst, src, size_t(n) * 4);
      return Status::ok();
    case StDtype::kF64:
      for (int64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, src + 8 * i, 8);
        dst[i] = static_cast<float>(d);
      }
      return Status::ok();
    case StDtype::kBF16:
    case StDtype::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = dtype == StDtype::kBF16 ? bf16_to_f32(h) : f16_to_f32(h);
      }
      return Status::ok();
    default:
      return unsupported(where + ": dtype " + st_dtype_name(dtype) +
                         " cannot be loaded as floating-point weights");
  }
}

Status copy_as_i32(const std::string& where, StDtype dtype, const uint8_t* src, int64_t n,
                   int32_t* dst) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t v;
    switch (dtype) {
      case StDtype::kI64: std::memcpy(&v, src + 8 * i, 8); break;
      case StDtype::kI32: { int32_t x; std::memcpy(&x, src + 4 * i, 4); v = x; break; }
      case StDtype::kI16: { int16_t x; std::memcpy(&x, src + 2 * i, 2); v = x; break; }
      case StDtype::kI8: v = static_cast<int8_t>(src[i]); break;
      case StDtype::kU8:
      case StDtype::kBool: v = src[i]; break;
      default:
        return unsupported(where + ": dtype " + st_dtype_name(dtype) + " is not an integer type");
    }
    if (v < INT32_MIN || v > INT32_MAX)
      return invalid_argument(where + ": value " + std::to_string(v) + " at index " +
                              std::to_string(i) + " does not fit in int32");
    dst[i] = static_cast<int32_t>(v);
  }
  return Status::ok();
}

}  // namespace lw::io
