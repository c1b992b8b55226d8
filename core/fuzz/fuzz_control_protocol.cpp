// libFuzzer target: the input is one control request. Checks that every
// view the parser hands out lies inside the input, and that the replies
// built from a parsed request are sized and written consistently.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wscore.h"

namespace {

void check_inside(wscore_str_t s, const char *begin, const char *end)
{
    if (s.data == nullptr) return;
    if (s.data < begin || s.data + s.len > end) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // An exact-size copy, so ASan sees any read past the end.
    std::vector<char> input(data, data + size);
    const char *begin = input.data();
    static wscore_ctl_parser_t *const parser = wscore_ctl_parser_create();
    if (parser == nullptr) std::abort();
    wscore_ctl_request_t req;
    const wscore_rc_t rc = wscore_ctl_parse(parser, begin, size, &req);
    if ((rc == WSCORE_OK) != (req.error == nullptr)) std::abort();
    check_inside(req.id, begin, begin + size);
    if (rc != WSCORE_OK) {
        const size_t need = wscore_ctl_write_error(nullptr, 0, req.id,
            req.error, req.error);
        std::vector<char> out(need);
        if (wscore_ctl_write_error(out.data(), need, req.id, req.error,
                req.error) != need) std::abort();
        return 0;
    }
    check_inside(req.channel, begin, begin + size);
    check_inside(req.data, begin, begin + size);
    if (req.op == WSCORE_CTL_PUBLISH) {
        if (req.data.data == nullptr) std::abort();
        const size_t need = wscore_ctl_write_message(nullptr, 0,
            req.channel, 1, req.data);
        std::vector<char> out(need);
        if (wscore_ctl_write_message(out.data(), need, req.channel, 1,
                req.data) != need) std::abort();
        // Too small by one: nothing written.
        if (need > 0) {
            std::vector<char> small(need - 1, '#');
            wscore_ctl_write_message(small.data(), small.size(),
                req.channel, 1, req.data);
            for (char c : small) if (c != '#') std::abort();
        }
    }
    return 0;
}
