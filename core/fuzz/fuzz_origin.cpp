// libFuzzer target: the first line of the input as an allowed-origin
// pattern, the rest as an Origin header value. Parsing and matching must
// not crash; a pattern that parses points into its text; an exact pattern
// matches its own text, whatever the case of its letters.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wscore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string input(reinterpret_cast<const char *>(data), size);
    const std::size_t nl = input.find('\n');
    const std::string text = input.substr(0, nl);
    const std::string origin = nl == std::string::npos
        ? std::string{} : input.substr(nl + 1);

    wscore_origin_pattern_t p;
    const wscore_origin_pattern_rc_e rc = wscore_origin_pattern_parse(
        text.data(), text.size(), &p);
    if (rc != WSCORE_ORIGIN_PATTERN_OK) {
        if (rc != WSCORE_ORIGIN_PATTERN_MALFORMED
            && rc != WSCORE_ORIGIN_PATTERN_NO_SCHEME
            && rc != WSCORE_ORIGIN_PATTERN_BAD_WILDCARD) std::abort();
        return 0;
    }
    const char *const begin = text.data();
    const char *const end = begin + text.size();
    for (const wscore_str_t &s : {p.scheme, p.host, p.port}) {
        if (s.len != 0 && (s.data < begin || s.data + s.len > end)) {
            std::abort();
        }
    }
    const int m = wscore_origin_match(&p, origin.data(), origin.size());
    if (m != 0 && m != 1) std::abort();
    if (p.kind == WSCORE_ORIGIN_EXACT) {
        std::string upper = text;
        for (char &c : upper) {
            if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        }
        if (wscore_origin_match(&p, text.data(), text.size()) != 1
            || wscore_origin_match(&p, upper.data(), upper.size()) != 1) {
            std::abort();
        }
    }
    return 0;
}
