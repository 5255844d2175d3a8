// SHA-256 (FIPS 180-4), small and dependency-free: the store fingerprints
// artifact files with it so a checkpoint can be matched to the run that wrote
// it. Streaming interface plus helpers for strings and files.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/status.h"

namespace lw {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(const std::string& data);
// Hashes a regular file in chunks; the error names the file.
Result<std::string> sha256_file(const std::string& path);

}  // namespace lw
