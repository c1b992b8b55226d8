// The server under test is a process tree (NGINX's master and the workers it
// forks; a shell holding NGINX and a Node backend): CPU and memory figures
// are summed over all of it.
#pragma once

#include <sys/types.h>

#include <vector>

namespace wsload {

// `pid` followed by its descendants, at most a few levels deep. Empty when
// `pid` is gone.
std::vector<pid_t> process_tree(pid_t pid);

}  // namespace wsload
