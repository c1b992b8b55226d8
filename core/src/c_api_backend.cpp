// The extern "C" face of the backend hooks' text (wscore.h, "Backend
// hooks"): header lists and per-connection values, the close event.

#include "wscore.h"

#include <string_view>

#include "c_api_strings.hpp"
#include "backend_event.hpp"

using wscore::c_api::view_of;

extern "C" {

size_t wscore_list_next(const char *data, size_t len, wscore_str_t *element)
{
    auto rest = view_of(data, len);
    const auto found = wscore::next_list_element(rest);
    if (!found) {
        *element = wscore_str_t{nullptr, 0};
        return 0;
    }
    *element = wscore_str_t{found->data(), found->size()};
    return len - rest.size();
}

int wscore_meta_name_valid(const char *name, size_t len)
{
    return wscore::is_meta_name(view_of(name, len)) ? 1 : 0;
}

int wscore_media_type_is_json(const char *type, size_t len)
{
    return wscore::is_json_media_type(view_of(type, len)) ? 1 : 0;
}

int wscore_meta_value_valid(const char *value, size_t len)
{
    return wscore::is_meta_value(view_of(value, len)) ? 1 : 0;
}

size_t wscore_close_event_write(char *out, size_t cap,
    const wscore_close_event_t *ev)
{
    // The pairs are few (bounded by ws_backend_meta_size): a small array
    // on the stack, so no allocation can fail.
    constexpr size_t max_pairs = 64;
    wscore::MetaPair pairs[max_pairs];
    const size_t n = ev->meta_n < max_pairs ? ev->meta_n : max_pairs;

    for (size_t i = 0; i < n; ++i) {
        pairs[i] = {view_of(ev->meta[i].name.data, ev->meta[i].name.len),
                    view_of(ev->meta[i].value.data, ev->meta[i].value.len)};
    }

    wscore::CloseEvent event;
    event.connection_id = ev->connection_id;
    event.code = ev->code;
    event.closed_by = ev->closed_by != nullptr ? ev->closed_by : "none";
    event.duration_ms = ev->duration_ms;
    event.messages_in = ev->messages_in;
    event.messages_out = ev->messages_out;
    event.bytes_in = ev->bytes_in;
    event.bytes_out = ev->bytes_out;
    if (ev->user.data != nullptr) {
        event.user = view_of(ev->user.data, ev->user.len);
    }
    event.meta = {pairs, n};

    return wscore::write_close_event(
        out == nullptr ? std::span<char>{} : std::span<char>{out, cap},
        event);
}

}  // extern "C"
