#include "base64url.hpp"

#include <cstdint>

namespace wscore {

namespace {

// The 6-bit value of an alphabet byte, or -1.
int sextet(char c) noexcept
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

}  // namespace

bool base64url_alphabet(std::string_view s) noexcept
{
    for (const char c : s) {
        if (sextet(c) < 0) {
            return false;
        }
    }
    return true;
}

bool base64url_decode(std::string_view in, std::string &out)
{
    out.clear();
    if (in.size() % 4 == 1 || !base64url_alphabet(in)) {
        return false;
    }
    out.reserve(in.size() / 4 * 3 + 2);
    std::uint32_t bits = 0;
    int held = 0;
    for (const char c : in) {
        bits = (bits << 6) | static_cast<std::uint32_t>(sextet(c));
        held += 6;
        if (held >= 8) {
            held -= 8;
            out.push_back(static_cast<char>((bits >> held) & 0xff));
        }
    }
    return true;
}

}  // namespace wscore
