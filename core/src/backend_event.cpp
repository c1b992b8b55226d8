#include "backend_event.hpp"

#include "json_writer.hpp"
#include "utf8_validator.hpp"

namespace wscore {

namespace {

constexpr std::size_t max_meta_name = 64;

bool is_ows(char c) noexcept
{
    return c == ' ' || c == '\t';
}

// tchar of RFC 9110 section 5.6.2
bool is_tchar(unsigned char c) noexcept
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z'))
    {
        return true;
    }
    return std::string_view{"!#$%&'*+-.^_`|~"}.find(static_cast<char>(c))
           != std::string_view::npos;
}

}  // namespace

std::optional<std::string_view> next_list_element(std::string_view &rest)
    noexcept
{
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        auto element = rest.substr(0, comma);
        rest.remove_prefix(comma == std::string_view::npos ? rest.size()
                                                           : comma + 1);
        while (!element.empty() && is_ows(element.front())) {
            element.remove_prefix(1);
        }
        while (!element.empty() && is_ows(element.back())) {
            element.remove_suffix(1);
        }
        if (!element.empty()) {
            return element;
        }
    }
    return std::nullopt;
}

bool is_json_media_type(std::string_view content_type) noexcept
{
    auto type = content_type.substr(0, content_type.find(';'));
    while (!type.empty() && is_ows(type.front())) {
        type.remove_prefix(1);
    }
    while (!type.empty() && is_ows(type.back())) {
        type.remove_suffix(1);
    }
    const auto slash = type.find('/');
    if (slash == std::string_view::npos || slash == 0) {
        return false;
    }
    for (const char c : type) {
        if (c != '/' && !is_tchar(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    const auto lower_equals = [](std::string_view a, std::string_view b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a.size(); ++i) {
            char c = a[i];
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c - 'A' + 'a');
            }
            if (c != b[i]) {
                return false;
            }
        }
        return true;
    };
    const auto top = type.substr(0, slash);
    const auto sub = type.substr(slash + 1);
    if (sub.find('/') != std::string_view::npos || sub.empty()) {
        return false;
    }
    if (lower_equals(top, "application") && lower_equals(sub, "json")) {
        return true;
    }
    return sub.size() > 5 && lower_equals(sub.substr(sub.size() - 5), "+json");
}

bool is_meta_name(std::string_view name) noexcept
{
    if (name.empty() || name.size() > max_meta_name) {
        return false;
    }
    for (const char c : name) {
        if (!is_tchar(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
}

bool is_meta_value(std::string_view value) noexcept
{
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\t') || u == 0x7f) {
            return false;
        }
    }
    return is_valid_utf8({reinterpret_cast<const std::uint8_t *>(
                              value.data()), value.size()});
}

std::size_t write_close_event(std::span<char> out, const CloseEvent &ev)
    noexcept
{
    return render_json(out, [&](JsonWriter &w) {
        w.raw(R"({"event":"close","connection_id":")");
        w.number(ev.connection_id);
        w.raw(R"(","code":)");
        w.number(ev.code);
        w.raw(R"(,"closed_by":)");
        w.string(ev.closed_by);
        w.raw(R"(,"duration_ms":)");
        w.number(ev.duration_ms);
        w.raw(R"(,"messages_in":)");
        w.number(ev.messages_in);
        w.raw(R"(,"messages_out":)");
        w.number(ev.messages_out);
        w.raw(R"(,"bytes_in":)");
        w.number(ev.bytes_in);
        w.raw(R"(,"bytes_out":)");
        w.number(ev.bytes_out);
        w.raw(R"(,"user":)");
        if (ev.user) {
            w.string(*ev.user);
        } else {
            w.raw("null");
        }
        w.raw(R"(,"meta":{)");
        bool first = true;
        for (const auto &pair : ev.meta) {
            if (!first) {
                w.raw(",");
            }
            first = false;
            w.string(pair.name);
            w.raw(":");
            w.string(pair.value);
        }
        w.raw("}}");
    });
}

}  // namespace wscore
