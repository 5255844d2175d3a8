// Safetensors writer and the atomic file write under it: everything goes to a temporary
// file in the destination folder, is flushed and fsync'ed, then renamed over the target, so
// readers see the old file or the new one, never a torn one.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/io/json_text.h"
#include "engine/io/safetensors.h"

namespace lw::io {
namespace {

Status write_all(int fd, const void* data, uint64_t n, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n > (1u << 30) ? (1u << 30) : n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error(path + ": write failed (" + std::strerror(errno) + ")");
    }
    p += w;
    n -= static_cast<uint64_t>(w);
  }
  return Status::ok();
}

std::string folder_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

// Writes chunks produced by `emit` to a temporary file, then renames it to `path`.
template <typename Emit>
Status write_atomic(const std::string& path, Emit emit) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(tmp + ": cannot create (" + std::strerror(errno) + ")");
  Status st = emit(fd, tmp);
  if (st.is_ok() && ::fsync(fd) != 0) st = io_error(tmp + ": fsync failed (" + std::strerror(errno) + ")");
  if (::close(fd) != 0 && st.is_ok()) st = io_error(tmp + ": close failed (" + std::strerror(errno) + ")");
  if (st.is_ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = io_error(path + ": rename from temporary file failed (" + std::strerror(errno) + ")");
  if (!st.is_ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  // Make the rename itself durable.
  int dfd = ::open(folder_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}

}  // namespace

Status write_file_atomic(const std::string& path, const std::string& text) {
  return write_atomic(path, [&](int fd, const std::string& tmp) {
    return write_all(fd, text.data(), text.size(), tmp);
  });
}

Status write_safetensors(const std::string& path, const std::vector<StTensorData>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) return invalid_argument(path + ": tensor '" + t.name + "' has a negative dimension");
      numel *= static_cast<uint64_t>(d);
    }
    if (numel * st_dtype_size(t.dtype) != t.nbytes)
      return invalid_argument(path + ": tensor '" + t.name + "': " + std::to_string(t.nbytes) +
                              " bytes do not match its shape and dtype");
    if (t.name == "__metadata__" || header.contains(t.name))
      return invalid_argument(path + ": duplicate or reserved tensor name '" + t.name + "'");
    header[t.name] = {{"dtype", st_dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.nbytes}}};
    offset += t.nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data area is 8-byte aligned
  return write_atomic(path, [&](int fd, const std::string& tmp) -> Status {
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(uint64_t(text.size()) >> (8 * i));
    LW_TRY(write_all(fd, len, 8, tmp));
    LW_TRY(write_all(fd, text.data(), text.size(), tmp));
    for (const auto& t : tensors) LW_TRY(write_all(fd, t.data, t.nbytes, tmp));
    return Status::ok();
  });
}

}  // namespace lw::io
