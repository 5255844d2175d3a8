// DType: the element types a Tensor can hold, their sizes and names, and the
// scalar conversions between f32 and the narrow float formats (bf16, f16,
// fp8 e4m3fn / e5m2), all round-to-nearest-even and integer-only, so host code
// and CUDA kernels (LW_HOST_DEVICE) produce identical bits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "engine/core/host_device.h"
#include "engine/core/status.h"

namespace lw {

enum class DType : uint8_t {
  kF32,
  kBF16,
  kF16,
  kI8,
  kI32,
  kI64,
  kFP8E4M3,  // OCP "e4m3fn": no infinities, max 448, NaN = S.1111.111
  kFP8E5M2,  // IEEE-like: infinities, max 57344
};

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::kF32: case DType::kI32: return 4;
    case DType::kBF16: case DType::kF16: return 2;
    case DType::kI8: case DType::kFP8E4M3: case DType::kFP8E5M2: return 1;
    case DType::kI64: return 8;
  }
  return 0;
}
constexpr bool dtype_is_float(DType t) {
  return t == DType::kF32 || t == DType::kBF16 || t == DType::kF16 || t == DType::kFP8E4M3 ||
         t == DType::kFP8E5M2;
}
// Names as Hugging Face / safetensors spell them: "F32", "BF16", "F16", "I8", "I32",
// "I64", "F8_E4M3", "F8_E5M2".
const char* dtype_name(DType t);
// Accepts the safetensors names and the lowercase forms ("f32", "bf16", "fp8_e4m3", "float32").
Result<DType> parse_dtype(std::string_view name);

// Maps a C++ element type to its DType (for Tensor::data<T>() checks).
template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kF32; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kI8; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kI32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kI64; };

LW_HOST_DEVICE LW_FORCE_INLINE uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
LW_HOST_DEVICE LW_FORCE_INLINE float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

namespace detail {
// Shift right by `shift` bits, rounding to nearest, ties to even.
LW_HOST_DEVICE LW_FORCE_INLINE uint32_t rne_shift(uint32_t m, int shift) {
  if (shift <= 0) return m;
  if (shift >= 32) return 0;  // callers pass m < 2^24, far below half an ulp here
  uint32_t q = m >> shift;
  uint32_t rem = m & ((1u << shift) - 1u);
  uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return q;
}

// Encodes |f| (as f32 bits without sign, not NaN) into a float format with E exponent
// bits, M mantissa bits and the given bias. Returns the magnitude code, which may
// exceed the format's largest finite code when the value overflows.
LW_HOST_DEVICE LW_FORCE_INLINE uint32_t encode_magnitude(uint32_t a, int M, int bias) {
  int e = static_cast<int>(a >> 23);
  uint32_t mant = a & 0x7FFFFFu;
  int exp = e - 127 + bias;  // target biased exponent
  if (e != 0 && exp >= 1) {
    // Normal in the target: keep exponent and round the mantissa; a carry out of
    // the mantissa bumps the exponent, which is exactly right.
    uint32_t r = (static_cast<uint32_t>(exp) << 23) | mant;
    return rne_shift(r, 23 - M);
  }
  // Subnormal in the target: count units of 2^(1-bias-M).
  uint32_t m = e != 0 ? (mant | 0x800000u) : mant;
  int e_eff = e != 0 ? e : 1;
  return rne_shift(m, 151 - bias - M - e_eff);
}

// Decodes a magnitude code (no sign) of a format with M mantissa bits and bias into f32 bits,
// for finite codes only.
LW_HOST_DEVICE LW_FORCE_INLINE uint32_t decode_magnitude(uint32_t code, int M, int bias) {
  uint32_t exp = code >> M;
  uint32_t mant = code & ((1u << M) - 1u);
  if (exp == 0) {
    if (mant == 0) return 0;
    // Normalize the subnormal: shift the mantissa until its leading 1 reaches bit M.
    int e = 1;
    while ((mant & (1u << M)) == 0) {
      mant <<= 1;
      --e;
    }
    mant &= (1u << M) - 1u;
    return (static_cast<uint32_t>(e - bias + 127) << 23) | (mant << (23 - M));
  }
  return (static_cast<uint32_t>(static_cast<int>(exp) - bias + 127) << 23) | (mant << (23 - M));
}
}  // namespace detail

// ---- bf16: the top half of an f32 ----
LW_HOST_DEVICE LW_FORCE_INLINE uint16_t f32_to_bf16_bits(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
LW_HOST_DEVICE LW_FORCE_INLINE float bf16_bits_to_f32(uint16_t h) {
  return f32_from_bits(static_cast<uint32_t>(h) << 16);
}

// ---- f16: IEEE binary16 ----
LW_HOST_DEVICE LW_FORCE_INLINE uint16_t f32_to_f16_bits(float f) {
  uint32_t u = f32_bits(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u);
  if (a >= 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u);
  uint32_t code = detail::encode_magnitude(a, 10, 15);
  if (code >= 0x7C00u) code = 0x7C00u;  // overflow rounds to infinity
  return static_cast<uint16_t>(sign | code);
}
LW_HOST_DEVICE LW_FORCE_INLINE float f16_bits_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t code = h & 0x7FFFu;
  if ((code & 0x7C00u) == 0x7C00u)
    return f32_from_bits(sign | 0x7F800000u | (static_cast<uint32_t>(code & 0x3FFu) << 13));
  return f32_from_bits(sign | detail::decode_magnitude(code, 10, 15));
}

// ---- fp8 e4m3fn: bias 7, no infinities. Overflow and Inf give NaN like PyTorch's cast;
// saturate=true clamps to +-448 instead (the usual choice when quantizing). ----
LW_HOST_DEVICE LW_FORCE_INLINE uint8_t f32_to_fp8_e4m3_bits(float f, bool saturate = false) {
  uint32_t u = f32_bits(f);
  uint32_t sign = (u >> 24) & 0x80u;
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return static_cast<uint8_t>(sign | 0x7Fu);
  uint32_t code = a >= 0x7F800000u ? 0x7Fu : detail::encode_magnitude(a, 3, 7);
  if (code > 0x7Eu) code = saturate ? 0x7Eu : 0x7Fu;
  return static_cast<uint8_t>(sign | code);
}
LW_HOST_DEVICE LW_FORCE_INLINE float fp8_e4m3_bits_to_f32(uint8_t b) {
  uint32_t sign = static_cast<uint32_t>(b & 0x80u) << 24;
  uint32_t code = b & 0x7Fu;
  if (code == 0x7Fu) return f32_from_bits(sign | 0x7FC00000u);
  return f32_from_bits(sign | detail::decode_magnitude(code, 3, 7));
}

// ---- fp8 e5m2: bias 15, IEEE-like (the top byte of an f16). Overflow gives Inf;
// saturate=true clamps finite values to +-57344. ----
LW_HOST_DEVICE LW_FORCE_INLINE uint8_t f32_to_fp8_e5m2_bits(float f, bool saturate = false) {
  uint32_t u = f32_bits(f);
  uint32_t sign = (u >> 24) & 0x80u;
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return static_cast<uint8_t>(sign | 0x7Fu);
  if (a == 0x7F800000u) return static_cast<uint8_t>(sign | 0x7Cu);
  uint32_t code = detail::encode_magnitude(a, 2, 15);
  if (code >= 0x7Cu) code = saturate ? 0x7Bu : 0x7Cu;
  return static_cast<uint8_t>(sign | code);
}
LW_HOST_DEVICE LW_FORCE_INLINE float fp8_e5m2_bits_to_f32(uint8_t b) {
  uint32_t sign = static_cast<uint32_t>(b & 0x80u) << 24;
  uint32_t code = b & 0x7Fu;
  if ((code & 0x7Cu) == 0x7Cu)
    return f32_from_bits(sign | 0x7F800000u | (static_cast<uint32_t>(code & 0x3u) << 21));
  return f32_from_bits(sign | detail::decode_magnitude(code, 2, 15));
}

// Reads element i of a float-typed buffer as f32 / writes f32 into it (host helpers for
// casts and tests; integer dtypes are converted by value).
float load_as_f32(const void* data, DType t, int64_t i);
void store_from_f32(void* data, DType t, int64_t i, float v);
// Converts n elements between any two dtypes on the host (float->int truncates toward zero
// like a C cast).
void convert_host(void* dst, DType dst_t, const void* src, DType src_t, int64_t n);

}  // namespace lw
