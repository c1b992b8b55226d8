#include "channel_name.hpp"

namespace wscore {

namespace {

bool printable_unquoted(unsigned char b) noexcept
{
    return b >= 0x21 && b <= 0x7e && b != '"' && b != '\\';
}

bool valid(std::string_view s, bool wildcards) noexcept
{
    if (s.empty() || s.size() > max_channel_name_len) {
        return false;
    }
    for (const char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (!printable_unquoted(b)
            || (!wildcards && (b == '*' || b == '?'))) {
            return false;
        }
    }
    return true;
}

}  // namespace

bool channel_name_valid(std::string_view name) noexcept
{
    return valid(name, false);
}

bool channel_pattern_valid(std::string_view pattern) noexcept
{
    return valid(pattern, true);
}

}  // namespace wscore
