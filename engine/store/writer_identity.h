// Who writes a run: pid, the process start time (from /proc/<pid>/stat, so a
// recycled pid is not taken for the writer), host name and kernel boot id.
// A reader on the same machine can then tell at once that a writer is gone;
// writers on other machines are judged by their heartbeat instead.
#pragma once
#include <cstdint>
#include <string>

namespace lw::store {

struct WriterIdentity {
  int64_t pid = 0;
  int64_t start_time = 0;  // clock ticks after boot (field 22 of /proc/<pid>/stat)
  std::string host;
  std::string boot_id;     // /proc/sys/kernel/random/boot_id; changes on reboot
};

// This process, computed once.
const WriterIdentity& this_writer();

// Start time of a live, non-zombie process, or -1 when there is none.
int64_t process_start_time(int64_t pid);

enum class Liveness { kAlive, kDead, kUnknown };  // unknown: another machine, judge by heartbeat

Liveness writer_liveness(const WriterIdentity& writer);

}  // namespace lw::store
