// Memory the server under test holds, for the idle-connection benchmark.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace wsload {

// Proportional set size (Pss, /proc/PID/smaps_rollup) summed over `pid` and
// its descendants, in bytes. Pss splits each shared page between the
// processes that map it, so shared memory zones and the code NGINX's master
// and workers share are counted once, not once per process as RSS would.
// nullopt when the process is gone or its smaps cannot be read.
std::optional<std::uint64_t> tree_pss_bytes(pid_t pid);

}  // namespace wsload
