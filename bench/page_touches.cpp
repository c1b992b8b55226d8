// Pages and cache lines a server touches between two system calls, per
// echoed message: reads a valgrind lackey trace (--trace-mem=yes
// --trace-syscalls=yes, which valgrind writes in one stream, in order) on
// stdin, and counts the distinct 4 KiB pages and 64-byte lines of code and
// of data touched in each stretch between system calls. That is the
// figure that matters where every system call empties the TLB (page-table
// isolation without PCID): each of those pages costs a page walk after the
// call returns.
//
//     page_touches LO HI MAPS < trace
//
// Only stretches that end while LO <= (sendto calls seen) < HI are counted,
// so start-up, handshakes and closes are left out; figures are per sendto
// (one echoed message each). MAPS, the server's /proc/PID/maps (read
// after the trace ends), names the mapping each page belongs to.
// Used by profile_pages.sh.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

struct Totals {
    double stretches = 0, instructions = 0;
    double code_pages = 0, data_pages = 0, code_lines = 0, data_lines = 0;
};

struct Mapping {
    unsigned long lo, hi;
    std::string name;
};

std::vector<Mapping> read_maps(const char *path)
{
    std::vector<Mapping> maps;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string range, perms, offset, device, inode, file;
        fields >> range >> perms >> offset >> device >> inode;
        std::getline(fields, file);
        const auto start = file.find_first_not_of(' ');
        file = start == std::string::npos ? "[anon]" : file.substr(start);
        const auto slash = file.rfind('/');
        if (slash != std::string::npos)
            file = file.substr(slash + 1);
        maps.push_back({std::strtoul(range.c_str(), nullptr, 16),
                        std::strtoul(range.c_str() + range.find('-') + 1,
                                     nullptr, 16),
                        file + " " + perms});
    }
    return maps;
}

std::string mapping_of(const std::vector<Mapping> &maps, unsigned long page)
{
    const unsigned long addr = page << 12;
    for (const auto &m : maps)
        if (addr >= m.lo && addr < m.hi)
            return m.name;
    return "(not in the maps file)";
}

// "SYSCALL[pid,tid](nr) sys_name ( ..." -> "name"; the second line of a
// call valgrind ran asynchronously ("... [async] -->") is not a new call.
bool syscall_name(const char *line, std::string &name)
{
    if (std::strncmp(line, "SYSCALL[", 8) != 0
        || std::strstr(line, "... [async] -->"))
        return false;
    const char *p = std::strstr(line, ") sys_");
    name = p ? std::string(p + 6, std::strcspn(p + 6, " (")) : "?";
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: page_touches LO HI MAPS < trace\n");
        return 2;
    }
    const long lo = std::atol(argv[1]), hi = std::atol(argv[2]);

    std::unordered_set<unsigned long> code_pages, data_pages, code_lines,
        data_lines;
    long instructions = 0, sends = 0;
    Totals all;
    std::map<std::string, Totals> by_call;
    std::map<unsigned long, long> code_hits, data_hits;  // page: stretches

    static char line[1 << 16];
    while (std::fgets(line, sizeof line, stdin)) {
        const bool counted = lo <= sends && sends < hi;
        std::string call;
        if (line[0] == 'I' && counted) {
            const unsigned long a = std::strtoul(line + 3, nullptr, 16);
            code_pages.insert(a >> 12);
            code_lines.insert(a >> 6);
            instructions++;
        } else if (line[0] == ' ' && counted
                   && (line[1] == 'L' || line[1] == 'S' || line[1] == 'M')) {
            const unsigned long a = std::strtoul(line + 3, nullptr, 16);
            data_pages.insert(a >> 12);
            data_lines.insert(a >> 6);
        } else if (syscall_name(line, call)) {
            if (counted) {
                for (Totals *t : {&all, &by_call[call]}) {
                    t->stretches++;
                    t->instructions += instructions;
                    t->code_pages += code_pages.size();
                    t->data_pages += data_pages.size();
                    t->code_lines += code_lines.size();
                    t->data_lines += data_lines.size();
                }
                for (auto page : code_pages)
                    code_hits[page]++;
                for (auto page : data_pages)
                    data_hits[page]++;
            }
            if (call == "sendto")
                sends++;
            code_pages.clear();
            data_pages.clear();
            code_lines.clear();
            data_lines.clear();
            instructions = 0;
        }
    }

    if (sends < hi) {
        std::fprintf(stderr, "page_touches: %ld sendto calls, window ends at "
                             "%ld\n", sends, hi);
        return 1;
    }

    const double n = double(hi - lo);
    const auto maps = read_maps(argv[3]);
    std::printf("per message (%ld messages: sendto calls %ld to %ld)\n",
                hi - lo, lo, hi);
    auto row = [n](const std::string &label, const Totals &t) {
        std::printf("  %-24s stretches %5.2f  instructions %7.1f  "
                    "code pages %5.1f  data pages %5.1f  code lines %6.1f  "
                    "data lines %6.1f\n",
                    label.c_str(), t.stretches / n, t.instructions / n,
                    t.code_pages / n, t.data_pages / n, t.code_lines / n,
                    t.data_lines / n);
    };
    row("all", all);
    for (const auto &[call, t] : by_call)
        row("ending in " + call, t);
    for (auto *hits : {&code_hits, &data_hits}) {
        std::map<std::string, double> touches;
        std::map<std::string, int> pages;
        for (const auto &[page, count] : *hits) {
            touches[mapping_of(maps, page)] += count;
            pages[mapping_of(maps, page)]++;
        }
        std::printf("%s pages touched per message, by mapping (distinct "
                    "pages)\n", hits == &code_hits ? "code" : "data");
        for (const auto &[name, count] : touches)
            std::printf("  %-44s %6.2f  (%d)\n", name.c_str(), count / n,
                        pages[name]);
    }
    return 0;
}
