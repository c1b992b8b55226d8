// Client-side framing: building masked frames once, reading the server's
// unmasked frames out of a receive buffer without copying payloads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "opcode.hpp"

namespace wsload {

// The core's definition (core/src/opcode.hpp): one list of RFC 6455
// opcodes for the server and the load generator.
using Opcode = wscore::Opcode;

// A complete masked client frame (FIN set). Built once per benchmark and
// copied into each connection's output, so the send path does no masking work
// and the client spends its CPU on the server's answers.
std::string build_masked_frame(Opcode opcode, std::span<const std::uint8_t> payload);

struct ServerFrame {
    bool fin = true;
    bool rsv1 = false;  // permessage-deflate: a compressed message
    Opcode opcode = Opcode::binary;
    std::span<const std::uint8_t> payload;  // points into the caller's buffer
    std::size_t wire_size = 0;              // header + payload bytes consumed
};

enum class FrameStatus { complete, partial, invalid };

struct FrameParse {
    FrameStatus status = FrameStatus::partial;
    ServerFrame frame;
};

// Reads one frame from the front of `bytes`. A masked server frame is
// invalid (RFC 6455 5.1); we treat it as a server bug worth reporting.
FrameParse parse_server_frame(std::span<const std::uint8_t> bytes);

}  // namespace wsload
