// base64url without padding (RFC 4648 section 5, as JWS uses it: RFC 7515
// section 2): the alphabet A-Z a-z 0-9 '-' '_', no '=' and no line breaks.

#ifndef WSCORE_BASE64URL_HPP
#define WSCORE_BASE64URL_HPP

#include <string>
#include <string_view>

namespace wscore {

// Is every byte of s in the base64url alphabet?
bool base64url_alphabet(std::string_view s) noexcept;

// Decodes in into out (replacing its content). False when in holds a byte
// outside the alphabet or has a length that no encoding has (4n + 1).
// The unused low bits of the last character are ignored, as NGINX and
// most decoders do. May throw std::bad_alloc.
bool base64url_decode(std::string_view in, std::string &out);

}  // namespace wscore

#endif
