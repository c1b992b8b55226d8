#include "process_tree.h"

#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

namespace wsload {
namespace {

// Children are listed per thread in /proc/PID/task/TID/children.
std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> kids;
    const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* dir = opendir(task_dir.c_str());
    if (dir == nullptr) return kids;
    while (const dirent* entry = readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        std::ifstream in(task_dir + "/" + entry->d_name + "/children");
        pid_t kid = 0;
        while (in >> kid) kids.push_back(kid);
    }
    closedir(dir);
    return kids;
}

void collect(pid_t pid, int depth, std::vector<pid_t>& out) {
    out.push_back(pid);
    if (depth > 4) return;  // NGINX is two levels deep; stop runaway trees
    for (pid_t kid : children_of(pid)) collect(kid, depth + 1, out);
}

}  // namespace

std::vector<pid_t> process_tree(pid_t pid) {
    std::vector<pid_t> tree;
    struct stat st {};
    if (stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0) return tree;
    collect(pid, 0, tree);
    return tree;
}

}  // namespace wsload
