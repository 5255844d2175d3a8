// A Hugging Face checkpoint's tensors: one model.safetensors, or shards listed by
// model.safetensors.index.json (shard names must stay inside the folder). Tensors are looked
// up by their Hugging Face name and converted to the compute dtype on load.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"

namespace lw::io {

struct CheckpointTensor {
  const SafeTensorsFile* file = nullptr;
  const StTensorInfo* info = nullptr;
  const uint8_t* data() const { return file->data(*info); }
};

class Checkpoint {
 public:
  // `path` is a folder (model.safetensors or its index) or a .safetensors file.
  static Result<Checkpoint> open(const std::string& path);
  const CheckpointTensor* find(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::unique_ptr<SafeTensorsFile>> files_;
  std::map<std::string, CheckpointTensor> tensors_;
};

// Element conversions on load. `where` names the file and tensor in errors.
// f32/f16/bf16/f64 -> f32.
Status copy_as_f32(const std::string& where, StDtype dtype, const uint8_t* src, int64_t n,
                   float* dst);
// i64/i32/i16/i8/u8/bool -> i32; i64 values outside the int32 range are an error.
Status copy_as_i32(const std::string& where, StDtype dtype, const uint8_t* src, int64_t n,
                   int32_t* dst);

float bf16_to_f32(uint16_t h);
float f16_to_f32(uint16_t h);

}  // namespace lw::io
