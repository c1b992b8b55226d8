#include "jwt_claims.hpp"

#include <simdjson.h>

#include "channel_acl.hpp"

#include <new>

namespace wscore {

namespace dom = simdjson::dom;

struct ClaimsReader::State {
    dom::parser parser;
    std::string text;   // the last value handed out
};

ClaimsReader::ClaimsReader() noexcept = default;
ClaimsReader::~ClaimsReader() = default;

namespace {

// The member named name of the object in json, or an error.
simdjson::simdjson_result<dom::element> member(dom::parser &parser,
    std::string_view json, std::string_view name) noexcept
{
    if (json.size() > ClaimsReader::max_size) {
        return simdjson::CAPACITY;
    }
    // An empty document may come with no buffer at all: simdjson would
    // copy from that null pointer (undefined even for 0 bytes).
    if (json.empty()) {
        return simdjson::EMPTY;
    }
    dom::element doc;
    if (auto e = parser.parse(json.data(), json.size()).get(doc)) {
        return e;
    }
    dom::object object;
    if (auto e = doc.get_object().get(object)) {
        return e;
    }
    // A repeated member makes the token ambiguous: parsers disagree on
    // which one wins, so the issuer and we could read different claims.
    std::size_t seen = 0;
    dom::element found;
    for (auto field : object) {
        if (field.key == name) {
            found = field.value;
            ++seen;
        }
    }
    if (seen > 1) {
        return simdjson::TAPE_ERROR;
    }
    if (seen == 0) {
        return simdjson::NO_SUCH_FIELD;
    }
    return found;
}

}  // namespace

bool ClaimsReader::get(std::string_view json, std::string_view name,
    wscore_claim_t &claim) noexcept
{
    try {
        if (!state_) {
            state_ = std::make_unique<State>();
        }
        dom::element value;
        auto e = member(state_->parser, json, name).get(value);
        if (e == simdjson::NO_SUCH_FIELD) {
            claim = wscore_claim_t{WSCORE_CLAIM_ABSENT, {nullptr, 0}, 0};
            return true;
        }
        if (e) {
            return false;
        }
        claim.number = 0;
        switch (value.type()) {
        case dom::element_type::STRING: {
            std::string_view s;
            if (value.get_string().get(s)) {
                return false;
            }
            state_->text.assign(s);
            claim.type = WSCORE_CLAIM_STRING;
            break;
        }
        case dom::element_type::INT64:
        case dom::element_type::UINT64:
        case dom::element_type::DOUBLE: {
            double d = 0;
            if (value.get_double().get(d)) {
                return false;
            }
            claim.number = d;
            state_->text = simdjson::minify(value);
            claim.type = WSCORE_CLAIM_NUMBER;
            break;
        }
        case dom::element_type::BOOL:
            state_->text = simdjson::minify(value);
            claim.type = WSCORE_CLAIM_BOOL;
            break;
        case dom::element_type::NULL_VALUE:
            state_->text = "null";
            claim.type = WSCORE_CLAIM_NULL;
            break;
        case dom::element_type::ARRAY:
            state_->text = simdjson::minify(value);
            claim.type = WSCORE_CLAIM_ARRAY;
            break;
        default:
            state_->text = simdjson::minify(value);
            claim.type = WSCORE_CLAIM_OBJECT;
            break;
        }
        claim.text = wscore_str_t{state_->text.data(), state_->text.size()};
        return true;
    } catch (...) {
        // std::bad_alloc from the parser or a string: not a usable token.
        return false;
    }
}

long ClaimsReader::strings(std::string_view json, std::string_view name,
    const std::function<void(std::string_view)> &visit) noexcept
{
    try {
        if (!state_) {
            state_ = std::make_unique<State>();
        }
        dom::element value;
        auto e = member(state_->parser, json, name).get(value);
        if (e == simdjson::NO_SUCH_FIELD) {
            return 0;
        }
        if (e) {
            return -1;
        }
        std::string_view s;
        if (value.get_string().get(s) == simdjson::SUCCESS) {
            visit(s);
            return 1;
        }
        dom::array array;
        if (value.get_array().get(array)) {
            return -1;
        }
        for (auto item : array) {
            if (item.get_string().get(s)) {
                return -1;
            }
        }
        long n = 0;
        for (auto item : array) {
            if (item.get_string().get(s) == simdjson::SUCCESS) {
                visit(s);
                ++n;
            }
        }
        return n;
    } catch (...) {
        return -1;
    }
}

}  // namespace wscore
