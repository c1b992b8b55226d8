#include "control_protocol.hpp"
#include "json_writer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

namespace wscore {

namespace od = simdjson::ondemand;

namespace {

constexpr const char *bad_json = "bad json";
constexpr const char *out_of_memory = "out of memory";

bool is_json_space(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Reads every value it is given, which is what makes On-Demand validate
// it: strings are unescaped, numbers converted, literals matched, and
// missing commas or colons found while iterating containers.
class Walk {
public:
    explicit Walk(od::document &doc) noexcept : doc_(doc) {}

    simdjson::error_code validate(od::value &value, std::size_t depth)
        noexcept;

    // Validates value and returns its raw text. On-Demand tells where a
    // value starts; where it ends is where the iterator stands once the
    // value has been read, less the whitespace before the next token.
    simdjson::error_code raw_text(od::value &value, std::string_view &out)
        noexcept;

private:
    od::document &doc_;
};

simdjson::error_code Walk::validate(od::value &value, std::size_t depth)
    noexcept
{
    if (depth > ControlParser::max_depth) {
        return simdjson::DEPTH_ERROR;
    }
    od::json_type type;
    if (auto e = value.type().get(type)) {
        return e;
    }
    switch (type) {
    case od::json_type::object: {
        od::object object;
        if (auto e = value.get_object().get(object)) {
            return e;
        }
        for (auto member : object) {
            od::field field;
            std::string_view key;
            if (auto e = std::move(member).get(field)) {
                return e;
            }
            if (auto e = field.unescaped_key().get(key)) {
                return e;
            }
            if (auto e = validate(field.value(), depth + 1)) {
                return e;
            }
        }
        return simdjson::SUCCESS;
    }
    case od::json_type::array: {
        od::array array;
        if (auto e = value.get_array().get(array)) {
            return e;
        }
        for (auto element : array) {
            od::value item;
            if (auto e = element.get(item)) {
                return e;
            }
            if (auto e = validate(item, depth + 1)) {
                return e;
            }
        }
        return simdjson::SUCCESS;
    }
    case od::json_type::string: {
        std::string_view s;
        return value.get_string().get(s);
    }
    case od::json_type::number: {
        // get_double accepts every JSON number, also integers beyond 64
        // bits; only magnitudes beyond a double's range are refused.
        double d;
        return value.get_double().get(d);
    }
    case od::json_type::boolean: {
        bool b;
        return value.get_bool().get(b);
    }
    case od::json_type::null: {
        // type() looks at the first byte only; is_null() checks the rest.
        bool null = false;
        if (auto e = value.is_null().get(null)) {
            return e;
        }
        return null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
    }
    return simdjson::INCORRECT_TYPE;
}

simdjson::error_code Walk::raw_text(od::value &value, std::string_view &out)
    noexcept
{
    const char *start = value.raw_json_token().data();
    if (auto e = validate(value, 1)) {
        return e;
    }
    // Inside the top-level object there is always a next token (at
    // least its closing brace), so the location is in bounds.
    const char *end;
    if (auto e = doc_.current_location().get(end)) {
        return e;
    }
    while (end > start && is_json_space(end[-1])) {
        --end;
    }
    out = std::string_view{start, static_cast<std::size_t>(end - start)};
    return simdjson::SUCCESS;
}

enum class Member : unsigned { other = 0, op = 1, channel = 2, data = 4,
                               id = 8, token = 16, last_seq = 32,
                               method = 64 };

// A method goes to the backend in a header (WS-Method): printable ASCII
// without quote and backslash, as channel names, so it needs no escaping
// on either side.
constexpr std::size_t max_method = 128;

bool is_method_name(std::string_view name) noexcept
{
    if (name.empty() || name.size() > max_method) {
        return false;
    }
    for (const char c : name) {
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
            return false;
        }
    }
    return true;
}

Member member_named(std::string_view key) noexcept
{
    if (key == "op") return Member::op;
    if (key == "channel") return Member::channel;
    if (key == "data") return Member::data;
    if (key == "id") return Member::id;
    if (key == "token") return Member::token;
    if (key == "last_seq") return Member::last_seq;
    if (key == "method") return Member::method;
    return Member::other;
}

bool op_named(std::string_view name, wscore_ctl_op_e &op) noexcept
{
    if (name == "subscribe") {
        op = WSCORE_CTL_SUBSCRIBE;
    } else if (name == "unsubscribe") {
        op = WSCORE_CTL_UNSUBSCRIBE;
    } else if (name == "publish") {
        op = WSCORE_CTL_PUBLISH;
    } else if (name == "auth") {
        op = WSCORE_CTL_AUTH;
    } else if (name == "rpc") {
        op = WSCORE_CTL_RPC;
    } else if (name == "send") {
        op = WSCORE_CTL_SEND;
    } else {
        return false;
    }
    return true;
}

const char *error_text(simdjson::error_code e) noexcept
{
    return e == simdjson::MEMALLOC ? out_of_memory : bad_json;
}

// A member used as it stands (a channel name, a token, a method name):
// a JSON string, whose escapes would make it another text than its bytes.
struct PlainString {
    bool present = false;
    bool escaped = false;
};

simdjson::error_code read_plain_string(Walk &walk, od::value &value,
    PlainString &seen, std::string_view &out) noexcept
{
    std::string_view raw;
    const simdjson::error_code e = walk.raw_text(value, raw);
    if (!e) {
        seen.present = true;
        seen.escaped = raw.find('\\') != std::string_view::npos;
        out = raw.substr(1, raw.size() - 2);
    }
    return e;
}

// Parses json (len bytes, readable up to capacity) into req; views point
// into json. Sets req.error on failure.
void parse_padded(od::parser &parser, const char *json, std::size_t len,
    std::size_t capacity, ControlRequest &req) noexcept
{
    od::document doc;
    if (auto e = parser.iterate(json, len, capacity).get(doc)) {
        req.error = error_text(e);
        return;
    }
    od::object top;
    if (auto e = doc.get_object().get(top)) {
        req.error = error_text(e);
        return;
    }

    Walk walk(doc);
    unsigned seen = 0;
    bool op_known = false;
    PlainString channel;
    PlainString token;
    PlainString method;
    bool id_bad = false;
    bool last_seq_bad = false;

    for (auto entry : top) {
        od::field field;
        std::string_view key;
        simdjson::error_code e = std::move(entry).get(field);
        if (!e) {
            e = field.unescaped_key().get(key);
        }
        if (e) {
            req.error = error_text(e);
            return;
        }
        od::value &value = field.value();
        const Member member = member_named(key);
        const auto bit = static_cast<unsigned>(member);
        if ((seen & bit) != 0) {
            // A repeated member makes the request ambiguous: parsers
            // disagree on which one wins.
            req.error = bad_json;
            return;
        }
        seen |= bit;

        od::json_type type = od::json_type::null;
        if (member != Member::other && member != Member::data) {
            e = value.type().get(type);
        }
        std::string_view raw;
        if (e) {
            // Falls through to the error below.
        } else if (member == Member::op && type == od::json_type::string) {
            std::string_view name;
            e = value.get_string().get(name);
            op_known = !e && op_named(name, req.op);
        } else if (member == Member::channel
                   && type == od::json_type::string) {
            e = read_plain_string(walk, value, channel, req.channel);
        } else if (member == Member::token
                   && type == od::json_type::string) {
            e = read_plain_string(walk, value, token, req.token);
        } else if (member == Member::method
                   && type == od::json_type::string) {
            e = read_plain_string(walk, value, method, req.method);
        } else if (member == Member::data) {
            e = walk.raw_text(value, raw);
            if (!e) {
                req.data = raw;
            }
        } else if (member == Member::id
                   && (type == od::json_type::string
                       || type == od::json_type::number)) {
            e = walk.raw_text(value, raw);
            if (!e) {
                req.id = raw;
            }
        } else if (member == Member::last_seq
                   && type == od::json_type::number) {
            // a non-negative integer that fits 64 bits, nothing else
            std::uint64_t n = 0;
            if (value.get_uint64().get(n)) {
                last_seq_bad = true;
                e = walk.validate(value, 1);
            } else {
                req.last_seq = n;
            }
        } else {
            id_bad = id_bad || member == Member::id;
            last_seq_bad = last_seq_bad || member == Member::last_seq;
            e = walk.validate(value, 1);
        }
        if (e) {
            req.error = error_text(e);
            return;
        }
    }
    // Anything after the object is trailing garbage: the document's
    // location is out of bounds only when every token has been read.
    const char *rest;
    if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) {
        req.error = bad_json;
        return;
    }

    if (id_bad) {
        req.error = "bad id";
    } else if (!op_known) {
        req.error = "unknown op";
    } else if (req.op == WSCORE_CTL_AUTH) {
        // A token is base64url and dots: escapes mean it is not one.
        if (!token.present) {
            req.error = "missing token";
        } else if (token.escaped) {
            req.error = "bad token";
        }
    } else if (req.op == WSCORE_CTL_RPC || req.op == WSCORE_CTL_SEND) {
        // Forwarded to a backend: no channel; a call names its method.
        if (req.op == WSCORE_CTL_RPC && !method.present) {
            req.error = "missing method";
        } else if (req.op == WSCORE_CTL_RPC
                   && (method.escaped || !is_method_name(req.method))) {
            req.error = "bad method";
        } else if (req.op == WSCORE_CTL_SEND && !req.data) {
            req.error = "missing data";
        }
    } else if (!channel.present) {
        req.error = "missing channel";
    } else if (channel.escaped) {
        req.error = "bad channel";
    } else if (req.op == WSCORE_CTL_PUBLISH && !req.data) {
        req.error = "missing data";
    } else if (last_seq_bad) {
        req.error = "bad last_seq";
    }
}

// Moves a view from the padded copy onto the same bytes of the caller's
// input.
std::string_view rebase(std::string_view v, const char *copy,
    const char *input) noexcept
{
    if (v.data() == nullptr) {
        return v;
    }
    return {input + (v.data() - copy), v.size()};
}

}  // namespace

// Known gap: simdjson 3.0.1 does not check one of its own allocations
// (the string buffer in ondemand::parser::allocate), so an allocation
// failure at exactly that point crashes inside simdjson instead of
// returning MEMALLOC. Keeping the parser for the thread's lifetime makes
// that allocation a once-per-worker event for ordinary requests.
struct ControlParser::State {
    od::parser parser;
    std::unique_ptr<char[]> input;   // copy of the request, padded
    std::size_t capacity = 0;

    // Copies json (between before and after) and zeroes the padding
    // simdjson may read past its end.
    const char *load(std::string_view json, std::string_view before = {},
        std::string_view after = {})
    {
        const std::size_t size = before.size() + json.size() + after.size();
        const std::size_t needed = size + simdjson::SIMDJSON_PADDING;
        if (needed > capacity) {
            const std::size_t grown = std::max<std::size_t>(
                {needed, 2 * capacity, 1024});
            input.reset(new char[grown]);
            capacity = grown;
        }
        char *p = input.get();
        for (const std::string_view part : {before, json, after}) {
            if (!part.empty()) {
                std::memcpy(p, part.data(), part.size());
                p += part.size();
            }
        }
        std::memset(p, 0, simdjson::SIMDJSON_PADDING);
        return input.get();
    }
};

ControlParser::ControlParser() noexcept = default;
ControlParser::~ControlParser() = default;

bool ControlParser::parse(std::string_view json, ControlRequest &req)
    noexcept
{
    req = ControlRequest{};
    try {
        if (!state_) {
            state_ = std::make_unique<State>();
        }
        const char *copy = state_->load(json);
        parse_padded(state_->parser, copy, json.size(), state_->capacity,
                     req);
        if (req.error != nullptr) {
            // A failed request has an error and maybe an id, nothing else
            // half-filled for a caller to trip over.
            req = ControlRequest{{}, {}, {}, req.id, {}, req.error, {}, {}};
        }
        req.channel = rebase(req.channel, copy, json.data());
        req.token = rebase(req.token, copy, json.data());
        req.method = rebase(req.method, copy, json.data());
        if (req.data) {
            req.data = rebase(*req.data, copy, json.data());
        }
        if (req.id) {
            req.id = rebase(*req.id, copy, json.data());
        }
    } catch (...) {
        // Only our buffer's allocation throws; simdjson reports MEMALLOC.
        req = ControlRequest{};
        req.error = out_of_memory;
    }
    if (json.size() > kept_input_size) {
        state_.reset();
    }
    return req.error == nullptr;
}

bool ControlParser::valid_value(std::string_view json) noexcept
{
    bool valid = false;
    try {
        if (!state_) {
            state_ = std::make_unique<State>();
        }
        // Wrapped in an array: On-Demand reads a scalar document only
        // through its typed getters, while an array element is a value
        // the walk takes whatever its type. "1,2" makes two elements and
        // "1],[2" trailing garbage: both are refused below.
        const char *copy = state_->load(json, "[", "]");
        od::document doc;
        od::array array;
        if (!state_->parser.iterate(copy, json.size() + 2, state_->capacity)
                 .get(doc)
            && !doc.get_array().get(array))
        {
            Walk walk(doc);
            std::size_t elements = 0;
            valid = true;
            for (auto element : array) {
                od::value item;
                if (element.get(item) || walk.validate(item, 1)) {
                    valid = false;
                    break;
                }
                ++elements;
            }
            const char *rest;
            valid = valid && elements == 1
                    && doc.current_location().get(rest)
                       == simdjson::OUT_OF_BOUNDS;
        }
    } catch (...) {
        valid = false;
    }
    if (json.size() > kept_input_size) {
        state_.reset();
    }
    return valid;
}

std::size_t ControlParser::buffered_capacity() const noexcept
{
    return state_ ? state_->capacity : 0;
}


namespace {

// Every error reply: the HTTP status of a backend's answer only where
// there was one.
std::size_t write_error_reply(std::span<char> out,
    std::optional<std::string_view> id, std::string_view code,
    std::optional<unsigned> status, std::string_view message) noexcept
{
    return render_json(out, [&](JsonWriter &w) {
        w.raw(R"({"op":"error","id":)");
        w.id(id);
        w.raw(R"(,"code":)");
        w.string(code);
        if (status) {
            w.raw(R"(,"status":)");
            w.number(*status);
        }
        w.raw(R"(,"message":)");
        w.string(message);
        w.raw("}");
    });
}

}  // namespace

std::size_t write_ack(std::span<char> out, std::optional<std::string_view> id,
    std::uint64_t seq) noexcept
{
    return write_ack_data(out, id, seq, {}, DataForm::text);
}

std::size_t write_error(std::span<char> out,
    std::optional<std::string_view> id, std::string_view code,
    std::string_view message) noexcept
{
    return write_error_reply(out, id, code, std::nullopt, message);
}

std::size_t write_ack_data(std::span<char> out,
    std::optional<std::string_view> id, std::uint64_t seq,
    std::string_view data, DataForm form) noexcept
{
    return render_json(out, [&](JsonWriter &w) {
        w.raw(R"({"op":"ack","id":)");
        w.id(id);
        if (seq != 0) {
            w.raw(R"(,"seq":)");
            w.number(seq);
        }
        if (!data.empty()) {
            w.raw(R"(,"data":)");
            if (form == DataForm::json) {
                w.raw(data);
            } else {
                w.string(data);
            }
        }
        w.raw("}");
    });
}

std::size_t write_status_error(std::span<char> out,
    std::optional<std::string_view> id, std::string_view code,
    unsigned status, std::string_view message) noexcept
{
    return write_error_reply(out, id, code, status, message);
}

namespace {

// The envelope of a channel message; write_data renders "data".
template <class WriteData>
std::size_t write_envelope(std::span<char> out, std::string_view channel,
    std::uint64_t seq, WriteData write_data) noexcept
{
    return render_json(out, [&](JsonWriter &w) {
        w.raw(R"({"op":"message","channel":)");
        w.string(channel);
        w.raw(R"(,"seq":)");
        w.number(seq);
        w.raw(R"(,"data":)");
        write_data(w);
        w.raw("}");
    });
}

}  // namespace

std::size_t write_message(std::span<char> out, std::string_view channel,
    std::uint64_t seq, std::string_view data_json) noexcept
{
    return write_envelope(out, channel, seq,
        [&](JsonWriter &w) { w.raw(data_json); });
}

// For messages that were published as plain text (a raw client, the HTTP
// publish API): the text becomes a JSON string, so JSON subscribers can
// read every message of a channel the same way.
std::size_t write_text_message(std::span<char> out, std::string_view channel,
    std::uint64_t seq, std::string_view text) noexcept
{
    return write_envelope(out, channel, seq,
        [&](JsonWriter &w) { w.string(text); });
}

// Told to a resuming subscriber when messages it asked for are gone from
// the history: from..to (inclusive) will never arrive.
std::size_t write_gap(std::span<char> out, std::string_view channel,
    std::uint64_t from, std::uint64_t to) noexcept
{
    return render_json(out, [&](JsonWriter &w) {
        w.raw(R"({"op":"gap","channel":)");
        w.string(channel);
        w.raw(R"(,"from":)");
        w.number(from);
        w.raw(R"(,"to":)");
        w.number(to);
        w.raw("}");
    });
}

// Sent right before a 1001 (the server reloads or stops): every message
// of the channel up to last_seq was sent before it, so a client resumes
// with that number, whatever it processed itself.
std::size_t write_going_away(std::span<char> out, std::string_view channel,
    std::uint64_t last_seq) noexcept
{
    return render_json(out, [&](JsonWriter &w) {
        w.raw(R"({"op":"going_away","channel":)");
        w.string(channel);
        w.raw(R"(,"last_seq":)");
        w.number(last_seq);
        w.raw("}");
    });
}

}  // namespace wscore
