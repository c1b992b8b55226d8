#include "channel_pattern.hpp"

#include <cstddef>

namespace wscore {

bool channel_pattern_matches(std::string_view pattern, std::string_view name)
    noexcept
{
    // Greedy matching that remembers only the latest '*': when a literal
    // fails, that star takes one more byte and matching resumes after it.
    // Going back to an earlier star is never needed, because whatever the
    // earlier star could absorb, the later one can absorb as well.
    constexpr std::size_t none = std::string_view::npos;
    std::size_t p = 0;
    std::size_t n = 0;
    std::size_t star = none;      // position of the latest '*' in pattern
    std::size_t star_name = 0;    // where in name that star's run ends

    while (n < name.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            star_name = n;
        } else if (p < pattern.size()
                   && (pattern[p] == '?' || pattern[p] == name[n])) {
            ++p;
            ++n;
        } else if (star != none) {
            p = star + 1;
            n = ++star_name;
        } else {
            return false;
        }
    }
    // The name is used up: only stars may remain.
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

}  // namespace wscore
