// Writer liveness for interrupted-run detection; see writer_identity.h.
#include "engine/store/writer_identity.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace lw::store {
namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

}  // namespace

int64_t process_start_time(int64_t pid) {
  if (pid <= 0) return -1;
  std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 1));
  std::string state;
  rest >> state;  // field 3
  if (state == "Z" || state == "X" || state == "x") return -1;  // a zombie has finished
  std::string field;
  for (int i = 4; i <= 22; ++i) {
    if (!(rest >> field)) return -1;
  }
  try {
    return std::stoll(field);
  } catch (...) {
    return -1;
  }
}

const WriterIdentity& this_writer() {
  static const WriterIdentity id = [] {
    WriterIdentity w;
    w.pid = getpid();
    w.start_time = process_start_time(w.pid);
    char host[256] = {0};
    if (gethostname(host, sizeof(host) - 1) == 0) w.host = host;
    w.boot_id = read_first_line("/proc/sys/kernel/random/boot_id");
    return w;
  }();
  return id;
}

Liveness writer_liveness(const WriterIdentity& writer) {
  const WriterIdentity& me = this_writer();
  if (writer.pid <= 0 || writer.host.empty() || writer.host != me.host) return Liveness::kUnknown;
  // Same host name but another boot: the machine restarted since, so the writer is gone.
  if (!writer.boot_id.empty() && !me.boot_id.empty() && writer.boot_id != me.boot_id)
    return Liveness::kDead;
  if (kill(pid_t(writer.pid), 0) != 0 && errno == ESRCH) return Liveness::kDead;
  int64_t start = process_start_time(writer.pid);
  if (start < 0) {
    // No /proc entry: dead, unless /proc itself is missing (then we cannot tell).
    return me.start_time < 0 ? Liveness::kUnknown : Liveness::kDead;
  }
  return start == writer.start_time ? Liveness::kAlive : Liveness::kDead;
}

}  // namespace lw::store
