#include <boost/test/unit_test.hpp>

#include "byte_printing.hpp"

#include <vector>

#include "frame_encoder.hpp"
#include "wscore.h"

using namespace wscore;

namespace {

std::vector<std::uint8_t> encode(Opcode op, bool fin, bool rsv1, std::uint64_t n)
{
    std::uint8_t out[max_server_header_len];
    const std::size_t len = encode_frame_header(
        std::span<std::uint8_t, max_server_header_len>{out}, op, fin, rsv1, n);
    return {out, out + len};
}

using V = std::vector<std::uint8_t>;

}  // namespace

BOOST_AUTO_TEST_SUITE(frame_encoder)

BOOST_AUTO_TEST_CASE(seven_bit_lengths)
{
    BOOST_TEST(encode(Opcode::text, true, false, 0) == (V{0x81, 0x00}));
    BOOST_TEST(encode(Opcode::binary, true, false, 125) == (V{0x82, 125}));
    BOOST_TEST(encode(Opcode::text, false, false, 5) == (V{0x01, 5}));
    BOOST_TEST(encode(Opcode::continuation, true, false, 1) == (V{0x80, 1}));
    BOOST_TEST(encode(Opcode::close, true, false, 2) == (V{0x88, 2}));
}

BOOST_AUTO_TEST_CASE(sixteen_bit_lengths_are_minimal)
{
    BOOST_TEST(encode(Opcode::binary, true, false, 126) == (V{0x82, 126, 0, 126}));
    BOOST_TEST(encode(Opcode::binary, true, false, 65535) ==
               (V{0x82, 126, 0xff, 0xff}));
}

BOOST_AUTO_TEST_CASE(sixty_four_bit_lengths)
{
    BOOST_TEST(encode(Opcode::binary, true, false, 65536) ==
               (V{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}));
    BOOST_TEST(encode(Opcode::binary, true, false, 0x0102030405060708ULL) ==
               (V{0x82, 127, 1, 2, 3, 4, 5, 6, 7, 8}));
}

BOOST_AUTO_TEST_CASE(rsv1_and_never_masked)
{
    const V h = encode(Opcode::text, true, true, 300);
    BOOST_TEST(h[0] == 0xC1);
    BOOST_TEST((h[1] & 0x80) == 0);
}

BOOST_AUTO_TEST_CASE(c_api_matches)
{
    std::uint8_t out[WSCORE_MAX_HEADER_LEN];
    BOOST_TEST(wscore_frame_header_encode(out, WSCORE_OP_PING, 1, 0, 70000) == 10u);
    BOOST_TEST(V(out, out + 10) == encode(Opcode::ping, true, false, 70000));
}

BOOST_AUTO_TEST_SUITE_END()
