// The llmwb command registry. Each cmd_*.cpp registers its command with a
// static CommandRegistration, so adding a command touches no shared file.
#pragma once
#include <functional>
#include <map>
#include <cstdint>
#include <string>
#include <vector>

namespace lwcli {

// Parsed "--name value" / "--flag" options plus positional arguments.
// Options listed in `flags` take no value; every other --option takes one.
// Repeated options keep every value (values("stop")).
class Args {
 public:
  // Returns false and fills `error` on a malformed command line.
  bool parse(const std::vector<std::string>& argv, const std::vector<std::string>& flags,
             std::string* error);
  bool has(const std::string& name) const { return options_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> values(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // Typed getters: fill `error` ("--steps expects an integer, got 'x'") and return false.
  bool get_int(const std::string& name, long long fallback, long long* out, std::string* error) const;
  bool get_double(const std::string& name, double fallback, double* out, std::string* error) const;
  // Names given that are not in `known`; used to reject typos.
  std::vector<std::string> unknown(const std::vector<std::string>& known) const;

 private:
  std::multimap<std::string, std::string> options_;
  std::vector<std::string> positional_;
};

struct Command {
  std::string name;      // "info", "runs", "train" ...
  std::string summary;   // one line for `llmwb --help`
  std::string usage;     // full text for `llmwb <name> --help`
  // Runs with the arguments after the command name; returns the exit code.
  std::function<int(const std::vector<std::string>& args)> run;
};

std::map<std::string, Command>& command_registry();

struct CommandRegistration {
  explicit CommandRegistration(Command command);
};

// `llmwb train <task>` modes that live in their own cmd_train_<task>.cpp (classify/ner from
// dataset files, prompt tuning, ...). A registered mode takes the command line when its task
// comes first and no --batches is given: the fixed-batch trajectory path stays in cmd_train.cpp.
struct TrainMode {
  std::string task;   // "classify", "ner", "prompt"
  std::string usage;  // appended to `llmwb train --help`
  std::function<int(const std::vector<std::string>& args)> run;  // args include the task
};
std::map<std::string, TrainMode>& train_mode_registry();
struct TrainModeRegistration {
  explicit TrainModeRegistration(TrainMode mode);
};

// Errors go to stderr as "llmwb <command>: <message>"; returns exit code 1.
int fail(const std::string& command, const std::string& message);
// Exit code 2: usage error, with a pointer to --help.
int usage_error(const std::string& command, const std::string& message);

// A comma-separated list of non-negative 32-bit integers (token ids; spaces around items
// allowed) given to `option` (e.g. "--ids"). On failure: false, and *error names the item:
// "--ids: item 2 ('x') is not a token id" (`what` replaces "a token id").
bool parse_id_list(const std::string& text, const std::string& option, std::vector<int32_t>* ids,
                   std::string* error, const std::string& what = "a token id");

}  // namespace lwcli
