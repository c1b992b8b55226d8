#include "close_payload.hpp"

#include <cstring>

#include "utf8_validator.hpp"

namespace wscore {

bool is_valid_close_code(std::uint16_t code) noexcept
{
    return (code >= 1000 && code <= 1003)
        || (code >= 1007 && code <= 1014)
        || (code >= 3000 && code <= 4999);
}

namespace {

// Static, so it can go straight into a log line; the reserved codes get
// their own text because they are the ones broken peers actually send.
const char *why_close_code_is_invalid(std::uint16_t code) noexcept
{
    switch (code) {
    case 1004: return "invalid close code 1004";
    case 1005: return "invalid close code 1005";
    case 1006: return "invalid close code 1006";
    case 1015: return "invalid close code 1015";
    default: break;
    }
    if (code < 1000) return "invalid close code below 1000";
    if (code < 3000) return "invalid close code 1016-2999 (unassigned)";
    return "invalid close code 5000 or above";
}

}  // namespace

ReceivedClose parse_close_payload(std::span<const std::uint8_t> payload)
    noexcept
{
    ReceivedClose result;
    if (payload.empty()) {
        return result;
    }
    if (payload.size() == 1) {
        result.error = "close payload of 1 byte";
        result.error_close_code = 1002;
        return result;
    }
    result.code = static_cast<std::uint16_t>(payload[0] << 8 | payload[1]);
    result.reason = payload.subspan(2);
    if (!is_valid_close_code(result.code)) {
        result.error = why_close_code_is_invalid(result.code);
        result.error_close_code = 1002;
    } else if (!is_valid_utf8(result.reason)) {
        result.error = "invalid UTF-8 in close reason";
        result.error_close_code = 1007;
    }
    return result;
}

std::size_t encode_close_payload(std::uint16_t code, std::string_view reason,
    std::span<std::uint8_t, max_close_payload> out) noexcept
{
    std::size_t reason_len = reason.size();
    if (reason_len > max_close_reason) {
        reason_len = max_close_reason;
        // Step back over continuation bytes (10xxxxxx) so the cut falls
        // before the lead byte of the sequence it would split.
        while (reason_len > 0
               && (static_cast<std::uint8_t>(reason[reason_len]) & 0xC0)
                      == 0x80) {
            --reason_len;
        }
    }
    out[0] = static_cast<std::uint8_t>(code >> 8);
    out[1] = static_cast<std::uint8_t>(code & 0xFF);
    if (reason_len > 0) {
        std::memcpy(out.data() + 2, reason.data(), reason_len);
    }
    return 2 + reason_len;
}

}  // namespace wscore
