#include "process_memory.h"

#include <fstream>
#include <string>

#include "process_tree.h"

namespace wsload {
namespace {

std::optional<std::uint64_t> pss_bytes(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    std::string key;
    std::uint64_t kib = 0;
    std::string unit;
    while (in >> key) {
        if (key == "Pss:") {
            in >> kib >> unit;
            return kib * 1024;
        }
        in.ignore(1 << 20, '\n');
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> tree_pss_bytes(pid_t pid) {
    const auto tree = process_tree(pid);
    if (tree.empty()) return std::nullopt;
    std::uint64_t total = 0;
    for (pid_t p : tree) {
        const auto pss = pss_bytes(p);
        if (!pss) return std::nullopt;
        total += *pss;
    }
    return total;
}

}  // namespace wsload
