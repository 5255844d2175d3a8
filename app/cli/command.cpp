// Argument parsing and the command registry behind llmwb.
#include "app/cli/command.h"

#include <charconv>
#include <cstdio>
#include <set>
#include <sstream>

namespace lwcli {

bool Args::parse(const std::vector<std::string>& argv, const std::vector<std::string>& flags,
                 std::string* error) {
  std::set<std::string> flag_set(flags.begin(), flags.end());
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 2 && a.rfind("--", 0) == 0) {
      std::string name = a.substr(2), value;
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (!flag_set.count(name)) {
        if (i + 1 >= argv.size()) {
          *error = "option --" + name + " expects a value";
          return false;
        }
        value = argv[++i];
      }
      options_.emplace(name, value);
    } else {
      positional_.push_back(a);
    }
  }
  return true;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = options_.find(name);
  return it == options_.end() ? fallback : it->second;
}

std::vector<std::string> Args::values(const std::string& name) const {
  std::vector<std::string> out;
  auto range = options_.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

bool Args::get_int(const std::string& name, long long fallback, long long* out,
                   std::string* error) const {
  if (!has(name)) {
    *out = fallback;
    return true;
  }
  std::string v = get(name);
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (ec != std::errc() || p != v.data() + v.size()) {
    *error = "--" + name + " expects an integer, got '" + v + "'";
    return false;
  }
  return true;
}

bool Args::get_double(const std::string& name, double fallback, double* out,
                      std::string* error) const {
  if (!has(name)) {
    *out = fallback;
    return true;
  }
  std::string v = get(name);
  char* end = nullptr;
  *out = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size()) {
    *error = "--" + name + " expects a number, got '" + v + "'";
    return false;
  }
  return true;
}

std::vector<std::string> Args::unknown(const std::vector<std::string>& known) const {
  std::set<std::string> k(known.begin(), known.end());
  std::vector<std::string> out;
  for (const auto& [name, value] : options_)
    if (!k.count(name)) out.push_back(name);
  return out;
}

std::map<std::string, Command>& command_registry() {
  static std::map<std::string, Command> registry;
  return registry;
}

CommandRegistration::CommandRegistration(Command command) {
  std::string name = command.name;
  command_registry().emplace(name, std::move(command));
}

int fail(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "llmwb %s: %s\n", command.c_str(), message.c_str());
  return 1;
}

int usage_error(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "llmwb %s: %s\nRun 'llmwb %s --help' for usage.\n", command.c_str(),
               message.c_str(), command.c_str());
  return 2;
}

bool parse_id_list(const std::string& text, const std::string& option, std::vector<int32_t>* ids,
                   std::string* error, const std::string& what) {
  std::stringstream ss(text);
  std::string item;
  size_t n = 0;
  while (std::getline(ss, item, ',')) {
    ++n;
    const size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    const std::string v = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    int32_t id = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || id < 0) {
      *error = option + ": item " + std::to_string(n) + " ('" + v + "') is not a token id";
      return false;
    }
    ids->push_back(id);
  }
  if (ids->empty()) *error = option + ": no values given";
  return !ids->empty();
}

std::map<std::string, TrainMode>& train_mode_registry() {
  static std::map<std::string, TrainMode> registry;
  return registry;
}

TrainModeRegistration::TrainModeRegistration(TrainMode mode) {
  std::string task = mode.task;
  train_mode_registry().emplace(std::move(task), std::move(mode));
}

}  // namespace lwcli
