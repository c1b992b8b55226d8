// The extern "C" face of the control protocol (wscore.h, "Control
// protocol"). The caller owns the parser handle (one per NGINX worker),
// reused for every request: no allocation per small request.

#include "wscore.h"

#include <new>
#include <optional>
#include <string_view>

#include "c_api_strings.hpp"
#include "control_protocol.hpp"

struct wscore_ctl_parser_s {
    wscore::ControlParser parser;
};

namespace {

using wscore::c_api::view_of;

std::optional<std::string_view> optional_view(const wscore_str_t &s) noexcept
{
    if (s.data == nullptr) {
        return std::nullopt;
    }
    return std::string_view{s.data, s.len};
}

wscore_str_t to_str(std::optional<std::string_view> v) noexcept
{
    if (!v) {
        return wscore_str_t{nullptr, 0};
    }
    return wscore_str_t{v->data(), v->size()};
}

std::span<char> out_span(char *out, size_t cap) noexcept
{
    return out == nullptr ? std::span<char>{} : std::span<char>{out, cap};
}

}  // namespace

extern "C" {

wscore_ctl_parser_t *wscore_ctl_parser_create(void)
{
    return new (std::nothrow) wscore_ctl_parser_s{};
}

void wscore_ctl_parser_destroy(wscore_ctl_parser_t *p)
{
    delete p;
}

wscore_rc_t wscore_ctl_parse(wscore_ctl_parser_t *p, const char *json,
    size_t len, wscore_ctl_request_t *req)
{
    if (req == nullptr) {
        return WSCORE_ERROR;
    }
    wscore::ControlRequest parsed;
    if (p == nullptr) {
        parsed.error = "out of memory";
    }
    const bool ok = p != nullptr && p->parser.parse(view_of(json, len), parsed);
    req->op = parsed.op;
    req->channel = parsed.channel.data() == nullptr
        ? wscore_str_t{nullptr, 0}
        : wscore_str_t{parsed.channel.data(), parsed.channel.size()};
    req->data = to_str(parsed.data);
    req->id = to_str(parsed.id);
    req->has_last_seq = parsed.last_seq.has_value() ? 1 : 0;
    req->last_seq = parsed.last_seq.value_or(0);
    req->error = parsed.error;
    req->token = parsed.token.data() == nullptr
        ? wscore_str_t{nullptr, 0}
        : wscore_str_t{parsed.token.data(), parsed.token.size()};
    req->method = parsed.method.data() == nullptr
        ? wscore_str_t{nullptr, 0}
        : wscore_str_t{parsed.method.data(), parsed.method.size()};
    return ok ? WSCORE_OK : WSCORE_ERROR;
}

int wscore_ctl_json_valid(wscore_ctl_parser_t *p, const char *json,
    size_t len)
{
    return p != nullptr && p->parser.valid_value(view_of(json, len)) ? 1 : 0;
}

size_t wscore_ctl_write_ack_data(char *out, size_t cap, wscore_str_t id,
    uint64_t seq, wscore_str_t data, int data_is_json)
{
    return wscore::write_ack_data(out_span(out, cap), optional_view(id), seq,
        view_of(data.data, data.len),
        data_is_json ? wscore::DataForm::json : wscore::DataForm::text);
}

size_t wscore_ctl_write_status_error(char *out, size_t cap, wscore_str_t id,
    const char *code, unsigned status, wscore_str_t message)
{
    return wscore::write_status_error(out_span(out, cap), optional_view(id),
        code != nullptr ? std::string_view{code} : std::string_view{},
        status, view_of(message.data, message.len));
}

size_t wscore_ctl_write_ack(char *out, size_t cap, wscore_str_t id,
    uint64_t seq)
{
    return wscore::write_ack(out_span(out, cap), optional_view(id), seq);
}

size_t wscore_ctl_write_error(char *out, size_t cap, wscore_str_t id,
    const char *code, const char *message)
{
    return wscore::write_error(out_span(out, cap), optional_view(id),
        code != nullptr ? std::string_view{code} : std::string_view{},
        message != nullptr ? std::string_view{message} : std::string_view{});
}

size_t wscore_ctl_write_message(char *out, size_t cap, wscore_str_t channel,
    uint64_t seq, wscore_str_t data_json)
{
    return wscore::write_message(out_span(out, cap),
        view_of(channel.data, channel.len), seq,
        view_of(data_json.data, data_json.len));
}

size_t wscore_ctl_write_text_message(char *out, size_t cap,
    wscore_str_t channel, uint64_t seq, wscore_str_t text)
{
    return wscore::write_text_message(out_span(out, cap),
        view_of(channel.data, channel.len), seq,
        view_of(text.data, text.len));
}

size_t wscore_ctl_write_gap(char *out, size_t cap, wscore_str_t channel,
    uint64_t from, uint64_t to)
{
    return wscore::write_gap(out_span(out, cap),
        view_of(channel.data, channel.len), from, to);
}

size_t wscore_ctl_write_going_away(char *out, size_t cap,
    wscore_str_t channel, uint64_t last_seq)
{
    return wscore::write_going_away(out_span(out, cap),
        view_of(channel.data, channel.len), last_seq);
}

}  // extern "C"
