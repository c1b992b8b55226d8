// libFuzzer target: what a backend's answer brings, read by the core. The
// input is used whole as each of: a header list (WS-Subscribe), a meta
// name and value, a Content-Type, WS-Opcode, WS-Close, and an answer body
// that becomes the "data" of a reply; its first bytes also make a status.
// Checks that list elements lie inside the input and are trimmed, that a
// close request's reason is a valid UTF-8 part of the input that fits a
// close frame, and that every reply built from the answer is sized and
// written consistently and is itself one valid JSON value.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wscore.h"

namespace {

wscore_ctl_parser_t *parser()
{
    static wscore_ctl_parser_t *const p = wscore_ctl_parser_create();
    if (p == nullptr) std::abort();
    return p;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

void check_inside(wscore_str_t s, const char *begin, size_t size)
{
    if (s.data < begin || s.data + s.len > begin + size) std::abort();
}

void check_list(const char *begin, size_t size)
{
    size_t offset = 0;
    while (offset < size) {
        wscore_str_t element;
        const size_t used = wscore_list_next(begin + offset, size - offset,
                                             &element);
        if (used == 0) {
            if (element.data != nullptr) std::abort();
            break;
        }
        if (used > size - offset) std::abort();
        if (element.len == 0) std::abort();
        if (element.data < begin + offset
            || element.data + element.len > begin + offset + used) {
            std::abort();
        }
        if (is_ows(element.data[0]) || is_ows(element.data[element.len - 1])
            || std::memchr(element.data, ',', element.len) != nullptr) {
            std::abort();
        }
        offset += used;
    }
}

// A reply must be written exactly as sized, and parse back as JSON.
template <class Write>
void check_reply(Write write)
{
    const size_t need = write(nullptr, 0);
    std::vector<char> out(need);
    if (write(out.data(), need) != need) std::abort();
    if (!wscore_ctl_json_valid(parser(), out.data(), need)) std::abort();
    if (need > 0) {
        std::vector<char> small(need - 1, '#');
        write(small.data(), small.size());
        for (char c : small) if (c != '#') std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // An exact-size copy, so ASan sees any read past the end.
    std::vector<char> input(data, data + size);
    const char *begin = input.data();

    check_list(begin, size);
    (void) wscore_meta_name_valid(begin, size);
    const int value_ok = wscore_meta_value_valid(begin, size);
    const int utf8 = wscore_utf8_valid(data, size);
    if (value_ok && !utf8) std::abort();
    (void) wscore_media_type_is_json(begin, size);

    const int opcode = wscore_answer_opcode(begin, size);
    if (opcode != 0 && opcode != WSCORE_OP_TEXT && opcode != WSCORE_OP_BINARY) {
        std::abort();
    }
    uint16_t code = 0;
    wscore_str_t reason{nullptr, 0};
    if (wscore_close_request_parse(begin, size, &code, &reason)) {
        if (code < 1000 || code > 4999 || code == 1010 || reason.len > 123) {
            std::abort();
        }
        if (reason.len != 0) {
            check_inside(reason, begin, size);
            if (!wscore_utf8_valid(reinterpret_cast<const uint8_t *>(
                                       reason.data), reason.len)) {
                std::abort();
            }
        }
    }
    const size_t cut = wscore_utf8_prefix(begin, size, 123);
    if (cut > 123 || cut > size
        || !wscore_utf8_valid(data, cut)) std::abort();
    const unsigned status = size >= 2 ? (data[0] << 8 | data[1]) % 1000 : 200;
    const wscore_message_verdict_e verdict = wscore_message_verdict(status,
                                                                    size);
    if (verdict < WSCORE_MESSAGE_DROP || verdict > WSCORE_MESSAGE_FAIL) {
        std::abort();
    }

    const wscore_str_t body{begin, size};
    const wscore_str_t id{"7", 1};
    const int json = wscore_ctl_json_valid(parser(), begin, size);

    if (json) {
        check_reply([&](char *out, size_t cap) {
            return wscore_ctl_write_ack_data(out, cap, id, 3, body, 1);
        });
    }
    if (utf8) {
        check_reply([&](char *out, size_t cap) {
            return wscore_ctl_write_ack_data(out, cap, id, 0, body, 0);
        });
        check_reply([&](char *out, size_t cap) {
            return wscore_ctl_write_status_error(out, cap, id, "rejected",
                                                 403, body);
        });
    }
    return 0;
}
