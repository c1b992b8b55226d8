// Reading the claims of a verified JSON Web Token (RFC 7519): the payload
// is a JSON object, and the server needs a few of its members (sub, exp,
// nbf, iss, aud, and whatever the configuration names). Signatures are not
// checked here: the NGINX glue verifies them with libjwt or OpenSSL first,
// and only then hands the payload over.
//
// The payload is parsed with simdjson's DOM parser, which validates the
// whole document (unlike On-Demand), so a malformed payload is refused
// whatever member is asked for. The same object reads the JOSE header.

#ifndef WSCORE_JWT_CLAIMS_HPP
#define WSCORE_JWT_CLAIMS_HPP

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "wscore.h"

namespace wscore {

class ClaimsReader {
public:
    // Documents larger than this are refused (a token is a header value).
    static constexpr std::size_t max_size = 16 * 1024;

    ClaimsReader() noexcept;
    ~ClaimsReader();
    ClaimsReader(const ClaimsReader &) = delete;
    ClaimsReader &operator=(const ClaimsReader &) = delete;

    // Parses json, which must be one JSON object, and looks up a member.
    // Returns false when json is not a valid object (claim untouched).
    // Strings come back unescaped, other values minified; the text stays
    // valid until the next call on this reader.
    bool get(std::string_view json, std::string_view name,
        wscore_claim_t &claim) noexcept;

    // Visits each string of a member that is a string or an array of
    // strings. Returns the number visited, 0 when the member is absent,
    // -1 when json is invalid or the member is of another type (an array
    // holding anything but strings included).
    long strings(std::string_view json, std::string_view name,
        const std::function<void(std::string_view)> &visit) noexcept;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace wscore

#endif
