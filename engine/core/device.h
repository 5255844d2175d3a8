// Device: where a tensor's memory lives (host memory or CUDA device N).
// Parsed from the strings users type on the command line ("cpu", "cuda", "cuda:1").
#pragma once
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace lw {

enum class DeviceType : uint8_t { kCpu = 0, kCuda = 1 };
inline constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::kCpu;
  int index = 0;  // CUDA ordinal; always 0 for the CPU

  static constexpr Device cpu() { return {DeviceType::kCpu, 0}; }
  static constexpr Device cuda(int index = 0) { return {DeviceType::kCuda, index}; }
  constexpr bool is_cpu() const { return type == DeviceType::kCpu; }
  constexpr bool is_cuda() const { return type == DeviceType::kCuda; }
  friend constexpr bool operator==(Device a, Device b) = default;
  std::string to_string() const;  // "cpu", "cuda:0"
};

// "cpu", "cuda" (= cuda:0), "cuda:N"; anything else is an InvalidArgument naming the text.
Result<Device> parse_device(std::string_view text);

}  // namespace lw
