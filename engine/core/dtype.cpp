// DType names and the host-side bulk conversions used by Tensor::to(dtype) and casts.
#include "engine/core/dtype.h"

#include <cmath>
#include <string>

namespace lw {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kBF16: return "BF16";
    case DType::kF16: return "F16";
    case DType::kI8: return "I8";
    case DType::kI32: return "I32";
    case DType::kI64: return "I64";
    case DType::kFP8E4M3: return "F8_E4M3";
    case DType::kFP8E5M2: return "F8_E5M2";
  }
  return "?";
}

Result<DType> parse_dtype(std::string_view name) {
  std::string s(name);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "f32" || s == "float32" || s == "float" || s == "fp32") return DType::kF32;
  if (s == "bf16" || s == "bfloat16") return DType::kBF16;
  if (s == "f16" || s == "float16" || s == "half" || s == "fp16") return DType::kF16;
  if (s == "i8" || s == "int8") return DType::kI8;
  if (s == "i32" || s == "int32") return DType::kI32;
  if (s == "i64" || s == "int64") return DType::kI64;
  if (s == "f8_e4m3" || s == "fp8_e4m3" || s == "float8_e4m3fn" || s == "e4m3") return DType::kFP8E4M3;
  if (s == "f8_e5m2" || s == "fp8_e5m2" || s == "float8_e5m2" || s == "e5m2") return DType::kFP8E5M2;
  return invalid_argument("unknown dtype '" + std::string(name) +
                          "' (expected f32, bf16, f16, i8, i32, i64, fp8_e4m3 or fp8_e5m2)");
}

float load_as_f32(const void* data, DType t, int64_t i) {
  switch (t) {
    case DType::kF32: return static_cast<const float*>(data)[i];
    case DType::kBF16: return bf16_bits_to_f32(static_cast<const uint16_t*>(data)[i]);
    case DType::kF16: return f16_bits_to_f32(static_cast<const uint16_t*>(data)[i]);
    case DType::kI8: return static_cast<float>(static_cast<const int8_t*>(data)[i]);
    case DType::kI32: return static_cast<float>(static_cast<const int32_t*>(data)[i]);
    case DType::kI64: return static_cast<float>(static_cast<const int64_t*>(data)[i]);
    case DType::kFP8E4M3: return fp8_e4m3_bits_to_f32(static_cast<const uint8_t*>(data)[i]);
    case DType::kFP8E5M2: return fp8_e5m2_bits_to_f32(static_cast<const uint8_t*>(data)[i]);
  }
  return 0.0f;
}

void store_from_f32(void* data, DType t, int64_t i, float v) {
  switch (t) {
    case DType::kF32: static_cast<float*>(data)[i] = v; break;
    case DType::kBF16: static_cast<uint16_t*>(data)[i] = f32_to_bf16_bits(v); break;
    case DType::kF16: static_cast<uint16_t*>(data)[i] = f32_to_f16_bits(v); break;
    case DType::kI8: static_cast<int8_t*>(data)[i] = static_cast<int8_t>(v); break;
    case DType::kI32: static_cast<int32_t*>(data)[i] = static_cast<int32_t>(v); break;
    case DType::kI64: static_cast<int64_t*>(data)[i] = static_cast<int64_t>(v); break;
    case DType::kFP8E4M3: static_cast<uint8_t*>(data)[i] = f32_to_fp8_e4m3_bits(v); break;
    case DType::kFP8E5M2: static_cast<uint8_t*>(data)[i] = f32_to_fp8_e5m2_bits(v); break;
  }
}

namespace {
bool is_int(DType t) { return t == DType::kI8 || t == DType::kI32 || t == DType::kI64; }
int64_t load_int(const void* d, DType t, int64_t i) {
  switch (t) {
    case DType::kI8: return static_cast<const int8_t*>(d)[i];
    case DType::kI32: return static_cast<const int32_t*>(d)[i];
    default: return static_cast<const int64_t*>(d)[i];
  }
}
void store_int(void* d, DType t, int64_t i, int64_t v) {
  switch (t) {
    case DType::kI8: static_cast<int8_t*>(d)[i] = static_cast<int8_t>(v); break;
    case DType::kI32: static_cast<int32_t*>(d)[i] = static_cast<int32_t>(v); break;
    default: static_cast<int64_t*>(d)[i] = v; break;
  }
}
}  // namespace

void convert_host(void* dst, DType dst_t, const void* src, DType src_t, int64_t n) {
  if (dst_t == src_t) {
    std::memcpy(dst, src, static_cast<size_t>(n) * dtype_size(dst_t));
    return;
  }
  if (is_int(dst_t) && is_int(src_t)) {  // exact for int64 values beyond 2^24
    for (int64_t i = 0; i < n; ++i) store_int(dst, dst_t, i, load_int(src, src_t, i));
    return;
  }
  for (int64_t i = 0; i < n; ++i) store_from_f32(dst, dst_t, i, load_as_f32(src, src_t, i));
}

}  // namespace lw
