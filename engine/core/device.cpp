// Device names and parsing.
#include "engine/core/device.h"

#include <charconv>

namespace lw {

std::string Device::to_string() const {
  if (is_cpu()) return "cpu";
  return "cuda:" + std::to_string(index);
}

Result<Device> parse_device(std::string_view text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda" || text == "gpu") return Device::cuda(0);
  if (text.starts_with("cuda:")) {
    std::string_view num = text.substr(5);
    int index = -1;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), index);
    if (ec == std::errc() && ptr == num.data() + num.size() && !num.empty() && index >= 0)
      return Device::cuda(index);
  }
  return invalid_argument("unknown device '" + std::string(text) +
                          "' (expected cpu, cuda or cuda:N)");
}

}  // namespace lw
