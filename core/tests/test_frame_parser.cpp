#include <boost/test/unit_test.hpp>

#include <string>

#include "client_frames.hpp"
#include "frame_parser.hpp"

using namespace wscore;
using namespace wscore::test;
using Status = FrameParser::Status;

namespace {

// Parses one header from raw bytes; returns the final step.
FrameParser::HeaderStep parse(FrameParser &p, const Bytes &in,
    bool rsv1_allowed = false)
{
    return p.parse_header(in, rsv1_allowed);
}

std::string error_of(const Bytes &in, bool rsv1_allowed = false)
{
    FrameParser p;
    const auto step = parse(p, in, rsv1_allowed);
    return step.status == Status::error ? step.error : "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(frame_parser)

BOOST_AUTO_TEST_CASE(parses_a_small_masked_frame)
{
    const Bytes f = text("Hello");
    FrameParser p;
    const auto step = parse(p, f);
    BOOST_TEST((step.status == Status::header_ready));
    BOOST_TEST(step.consumed == 6u);
    BOOST_TEST(step.header.fin);
    BOOST_TEST((step.header.opcode == Opcode::text));
    BOOST_TEST(step.header.payload_len == 5u);

    Bytes out(5);
    BOOST_TEST(p.read_payload(std::span(f).subspan(6), out) == 5u);
    BOOST_TEST(std::string(out.begin(), out.end()) == "Hello");
    BOOST_TEST(p.payload_remaining() == 0u);
}

BOOST_AUTO_TEST_CASE(header_byte_at_a_time)
{
    for (std::size_t len : {0u, 125u, 126u, 65535u, 65536u}) {
        const Bytes f = client_frame(0x2, Bytes(len, 0xab));
        FrameParser p;
        std::size_t off = 0;
        FrameParser::HeaderStep step;
        do {
            step = p.parse_header(std::span(f).subspan(off, 1), false);
            off += step.consumed;
        } while (step.status == Status::need_more);
        BOOST_TEST((step.status == Status::header_ready));
        BOOST_TEST(step.header.payload_len == len);
        BOOST_TEST(off == f.size() - len);
    }
}

BOOST_AUTO_TEST_CASE(payload_in_pieces_unmasks_correctly)
{
    Bytes payload(1000);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7);
    const Bytes f = client_frame(0x2, payload);
    FrameParser p;
    const auto step = parse(p, f);
    Bytes out;
    std::size_t off = step.consumed;
    std::size_t piece = 1;
    while (p.payload_remaining() > 0) {
        const std::size_t n = std::min(piece++, f.size() - off);
        Bytes chunk(n);
        BOOST_TEST(p.read_payload(std::span(f).subspan(off, n), chunk) == n);
        out.insert(out.end(), chunk.begin(), chunk.end());
        off += n;
    }
    BOOST_TEST(out == payload);
}

BOOST_AUTO_TEST_CASE(read_payload_stops_at_frame_end)
{
    const Bytes f = concat({text("ab"), text("cd")});
    FrameParser p;
    const auto step = parse(p, f);
    Bytes out(f.size());
    BOOST_TEST(p.read_payload(std::span(f).subspan(step.consumed), out) == 2u);
    p.next_frame();
    const auto second = p.parse_header(std::span(f).subspan(step.consumed + 2), false);
    BOOST_TEST((second.status == Status::header_ready));
}

BOOST_AUTO_TEST_CASE(unmasked_client_frame)
{
    FrameSpec spec;
    spec.masked = false;
    BOOST_TEST(error_of(text("x", spec)) == "unmasked client frame");
}

BOOST_AUTO_TEST_CASE(reserved_bits)
{
    for (std::uint8_t rsv : {1, 2, 4, 7}) {
        FrameSpec spec;
        spec.rsv = rsv;
        BOOST_TEST(error_of(text("x", spec)) == "reserved bits set");
    }
    // The permessage-deflate hook: RSV1 allowed on data frames only.
    FrameSpec rsv1;
    rsv1.rsv = 4;
    BOOST_TEST(error_of(text("x", rsv1), true) == "");
    BOOST_TEST(error_of(client_frame(0x9, {}, rsv1), true) == "reserved bits set");
    FrameSpec rsv2;
    rsv2.rsv = 2;
    BOOST_TEST(error_of(text("x", rsv2), true) == "reserved bits set");
}

BOOST_AUTO_TEST_CASE(unknown_opcodes)
{
    for (std::uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        const std::string expected = std::string("unknown opcode 0x")
            + "0123456789ABCDEF"[op];
        BOOST_TEST(error_of(client_frame(op, {})) == expected);
    }
    for (std::uint8_t op : {0, 1, 2, 8, 9, 0xA}) {
        BOOST_TEST(error_of(client_frame(op, {})) == "");
    }
}

BOOST_AUTO_TEST_CASE(control_frame_rules)
{
    FrameSpec not_fin;
    not_fin.fin = false;
    BOOST_TEST(error_of(client_frame(0x9, {}, not_fin)) == "fragmented control frame");
    BOOST_TEST(error_of(client_frame(0x8, Bytes(126, 0))) == "control frame payload > 125");
    BOOST_TEST(error_of(client_frame(0xA, Bytes(125, 0))) == "");
    // Detected from the first two bytes, before the rest arrives.
    FrameParser p;
    const Bytes head{0x89, 0x80 | 126};
    BOOST_TEST((p.parse_header(head, false).status == Status::error));
}

BOOST_AUTO_TEST_CASE(errors_detected_after_two_bytes)
{
    FrameParser p;
    const Bytes two{0x83, 0x85};
    const auto step = p.parse_header(two, false);
    BOOST_TEST((step.status == Status::error));
    BOOST_TEST(step.consumed == 2u);
}

BOOST_AUTO_TEST_CASE(length_with_msb_set)
{
    Bytes f{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    BOOST_TEST(error_of(f) == "frame length with MSB set");
}

BOOST_AUTO_TEST_CASE(non_minimal_lengths)
{
    FrameSpec f16;
    f16.form = LengthForm::force16;
    BOOST_TEST(error_of(client_frame(0x2, Bytes(125, 0), f16)) == "non-minimal length encoding");
    BOOST_TEST(error_of(client_frame(0x2, Bytes(0, 0), f16)) == "non-minimal length encoding");
    BOOST_TEST(error_of(client_frame(0x2, Bytes(126, 0), f16)) == "");
    FrameSpec f64;
    f64.form = LengthForm::force64;
    BOOST_TEST(error_of(client_frame(0x2, Bytes(65535, 0), f64)) == "non-minimal length encoding");
    BOOST_TEST(error_of(client_frame(0x2, Bytes(10, 0), f64)) == "non-minimal length encoding");
    BOOST_TEST(error_of(client_frame(0x2, Bytes(65536, 0), f64)) == "");
}

BOOST_AUTO_TEST_CASE(huge_length_is_parsed_without_payload)
{
    FrameParser p;
    const auto step = parse(p, header_only(0x2, 0x7fffffffffffffffULL));
    BOOST_TEST((step.status == Status::header_ready));
    BOOST_TEST(step.header.payload_len == 0x7fffffffffffffffULL);
}

// The whole-header fast path and the byte-at-a-time steps must agree:
// every header form, valid or not, split at every point.
BOOST_AUTO_TEST_CASE(whole_header_and_every_split_agree)
{
    FrameSpec f16;
    f16.form = LengthForm::force16;
    FrameSpec f64;
    f64.form = LengthForm::force64;
    FrameSpec rsv1;
    rsv1.rsv = 0x4;
    FrameSpec unmasked;
    unmasked.masked = false;
    const std::vector<Bytes> headers = {
        header_only(0x2, 0), header_only(0x1, 125), header_only(0x2, 126),
        header_only(0x2, 65535), header_only(0x2, 65536),
        header_only(0x2, 0x7fffffffffffffffULL),
        client_frame(0x2, Bytes(125, 0), f16),   // non-minimal 16-bit
        client_frame(0x2, Bytes(10, 0), f64),    // non-minimal 64-bit
        {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},
        client_frame(0x2, Bytes(3, 1), rsv1),    // RSV1, allowed or not
        client_frame(0x2, Bytes(3, 1), unmasked),
        {0x83, 0x85, 1, 2, 3, 4},                // unknown opcode
        {0x09, 0x80, 1, 2, 3, 4},                // fragmented ping
    };
    for (const bool rsv1_allowed : {false, true}) {
        for (const Bytes &frame : headers) {
            FrameParser whole;
            const auto expected = whole.parse_header(frame, rsv1_allowed);
            BOOST_TEST((expected.status != Status::need_more));
            for (std::size_t cut = 0; cut <= frame.size(); ++cut) {
                FrameParser p;
                const std::span<const std::uint8_t> in(frame);
                auto step = p.parse_header(in.first(cut), rsv1_allowed);
                std::size_t off = step.consumed;
                if (step.status == Status::need_more) {
                    BOOST_TEST(off == cut);
                    step = p.parse_header(in.subspan(off), rsv1_allowed);
                    off += step.consumed;
                }
                BOOST_TEST((step.status == expected.status));
                BOOST_TEST(std::string(step.error ? step.error : "")
                    == std::string(expected.error ? expected.error : ""));
                BOOST_TEST(step.header.payload_len
                    == expected.header.payload_len);
                BOOST_TEST(step.header.rsv1 == expected.header.rsv1);
                if (expected.status == Status::header_ready) {
                    BOOST_TEST(off == expected.consumed);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
