// config.json reading with aliases and range checks (see hf_config.h for why).
#include "engine/io/hf_config.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "engine/io/json_text.h"

namespace lw::io {

struct HfConfig::Impl {
  nlohmann::json j;
};

namespace {

// The first alias present and not null, with the name it was found under.
const nlohmann::json* lookup(const nlohmann::json& root, const Aliases& names, std::string* found) {
  for (const auto& name : names) {
    const nlohmann::json* node = &root;
    size_t start = 0;
    while (node) {
      size_t dot = name.find('.', start);
      std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!node->is_object()) {
        node = nullptr;
        break;
      }
      auto it = node->find(part);
      node = it == node->end() ? nullptr : &*it;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (node && !node->is_null()) {
      *found = name;
      return node;
    }
  }
  return nullptr;
}

std::string describe(const Aliases& names) {
  std::string s = "'" + (names.empty() ? std::string() : names[0]) + "'";
  for (size_t i = 1; i < names.size(); ++i) s += (i == 1 ? " (or '" : ", '") + names[i] + "'";
  if (names.size() > 1) s += ")";
  return s;
}

}  // namespace

Result<HfConfig> HfConfig::parse(const std::string& source, const std::string& text) {
  LW_ASSIGN_OR_RETURN(nlohmann::json j,
                      parse_json_text(source, text.data(), text.size(), kMaxConfigDepth));
  if (!j.is_object()) return invalid_argument(source + ": top level is not a JSON object");
  HfConfig c;
  c.source_ = source;
  auto impl = std::make_shared<Impl>();
  impl->j = std::move(j);
  c.impl_ = std::move(impl);
  return c;
}

Result<HfConfig> HfConfig::read(const std::string& path) {
  LW_ASSIGN_OR_RETURN(std::string text, read_text_file(path, kMaxConfigBytes));
  return parse(path, text);
}

bool HfConfig::has(const Aliases& names) const {
  std::string found;
  return lookup(impl_->j, names, &found) != nullptr;
}

Result<int64_t> HfConfig::get_int(const Aliases& names, int64_t lo, int64_t hi) const {
  std::string found;
  const auto* v = lookup(impl_->j, names, &found);
  if (!v) return invalid_argument(source_ + ": field " + describe(names) + " is missing");
  int64_t x;
  if (v->is_number_integer()) {
    x = v->get<int64_t>();
  } else if (v->is_number_float() && std::nearbyint(v->get<double>()) == v->get<double>() &&
             std::fabs(v->get<double>()) < 9e18) {
    x = static_cast<int64_t>(v->get<double>());  // "12.0" written by some exporters
  } else {
    return invalid_argument(source_ + ": field '" + found + "' must be an integer, got " + v->dump());
  }
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)) x = INT64_MAX;
  if (x < lo || x > hi)
    return invalid_argument(source_ + ": field '" + found + "' = " + v->dump() +
                            " is out of range [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "]");
  return x;
}

Result<double> HfConfig::get_double(const Aliases& names, double lo, double hi) const {
  std::string found;
  const auto* v = lookup(impl_->j, names, &found);
  if (!v) return invalid_argument(source_ + ": field " + describe(names) + " is missing");
  if (!v->is_number())
    return invalid_argument(source_ + ": field '" + found + "' must be a number, got " + v->dump());
  double x = v->get<double>();
  if (!(x >= lo && x <= hi))
    return invalid_argument(source_ + ": field '" + found + "' = " + v->dump() +
                            " is out of range [" + nlohmann::json(lo).dump() + ", " +
                            nlohmann::json(hi).dump() + "]");
  return x;
}

Result<std::string> HfConfig::get_string(const Aliases& names) const {
  std::string found;
  const auto* v = lookup(impl_->j, names, &found);
  if (!v) return invalid_argument(source_ + ": field " + describe(names) + " is missing");
  if (!v->is_string())
    return invalid_argument(source_ + ": field '" + found + "' must be a string, got " + v->dump());
  return v->get<std::string>();
}

Result<int64_t> HfConfig::get_int(const Aliases& names, int64_t lo, int64_t hi,
                                  int64_t fallback) const {
  if (!has(names)) return fallback;
  return get_int(names, lo, hi);
}

Result<double> HfConfig::get_double(const Aliases& names, double lo, double hi,
                                    double fallback) const {
  if (!has(names)) return fallback;
  return get_double(names, lo, hi);
}

Result<bool> HfConfig::get_bool(const Aliases& names, bool fallback) const {
  std::string found;
  const auto* v = lookup(impl_->j, names, &found);
  if (!v) return fallback;
  if (!v->is_boolean())
    return invalid_argument(source_ + ": field '" + found + "' must be true or false, got " + v->dump());
  return v->get<bool>();
}

Result<std::string> HfConfig::get_string(const Aliases& names, const std::string& fallback) const {
  if (!has(names)) return fallback;
  return get_string(names);
}

int64_t HfConfig::count(const Aliases& names) const {
  std::string found;
  const auto* v = lookup(impl_->j, names, &found);
  return v && (v->is_object() || v->is_array()) ? static_cast<int64_t>(v->size()) : -1;
}

std::string HfConfig::architecture() const {
  auto it = impl_->j.find("architectures");
  if (it == impl_->j.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) return "";
  return (*it)[0].get<std::string>();
}

std::string HfConfig::model_type() const {
  auto r = get_string({"model_type"}, "");
  return r.is_ok() ? *r : "";
}

std::string HfConfig::dtype() const {
  auto r = get_string({"dtype", "torch_dtype"}, "");
  return r.is_ok() ? *r : "";
}

std::string HfConfig::dump(int indent) const { return impl_->j.dump(indent); }

}  // namespace lw::io
