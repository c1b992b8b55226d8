#include <boost/test/unit_test.hpp>

#include <zlib.h>

#include <random>
#include <string>
#include <vector>

#include "message_deflater.hpp"
#include "message_inflater.hpp"

using namespace wscore;

namespace {

using Bytes = std::vector<std::uint8_t>;
using Result = MessageInflater::Result;

Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::string str(std::span<const std::uint8_t> b)
{
    return std::string(b.begin(), b.end());
}

std::string chat_json(int n)
{
    std::string s;
    for (int i = 0; i < n; ++i) {
        s += "{\"op\":\"message\",\"channel\":\"room:lobby\",\"seq\":"
             + std::to_string(1000 + i)
             + ",\"data\":{\"user\":\"alice\",\"text\":\"hello everyone, "
               "how is it going?\",\"ts\":1700000000}}";
    }
    return s;
}

// Inflates one whole message (compressed payload without the tail).
std::pair<Result, std::string> inflate_message(MessageInflater &inf,
    std::span<const std::uint8_t> payload, std::uint64_t limit = 1 << 24)
{
    ByteBuffer out;
    Result r = inf.inflate(payload, out, limit);
    if (r == Result::ok) {
        r = inf.finish_message(out, limit);
    }
    return {r, str(out.bytes())};
}

DeflaterSettings settings(std::uint8_t bits, bool takeover, int level = 6)
{
    DeflaterSettings s;
    s.window_bits = bits;
    s.context_takeover = takeover;
    s.level = static_cast<std::uint8_t>(level);
    return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(message_deflate)

// The examples of RFC 7692 section 7.2.3.
BOOST_AUTO_TEST_CASE(rfc_7692_examples_inflate)
{
    {
        MessageInflater inf(15, false);
        // 7.2.3.1: "Hello" in one compressed frame.
        BOOST_TEST(inflate_message(inf, Bytes{0xf2, 0x48, 0xcd, 0xc9, 0xc9,
                                              0x07, 0x00}).second == "Hello");
        // 7.2.3.2: the second "Hello" refers back into the first.
        const auto [r, text] = inflate_message(inf,
            Bytes{0xf2, 0x00, 0x11, 0x00, 0x00});
        BOOST_TEST((r == Result::ok));
        BOOST_TEST(text == "Hello");
    }
    {
        MessageInflater inf(15, false);
        // 7.2.3.3: a stored (uncompressed) block, then the first octet
        // of the empty block of the sync flush.
        BOOST_TEST(inflate_message(inf, Bytes{0x00, 0x05, 0x00, 0xfa, 0xff,
            0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}).second == "Hello");
        // 7.2.3.4: BFINAL set; 7.2.3.5: two blocks.
        BOOST_TEST(inflate_message(inf, Bytes{0xf3, 0x48, 0xcd, 0xc9, 0xc9,
            0x07, 0x00, 0x00}).second == "Hello");
        BOOST_TEST(inflate_message(inf, Bytes{0xf2, 0x48, 0x05, 0x00, 0x00,
            0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}).second
            == "Hello");
        // 7.2.3.6: an empty message as one 0x00 octet.
        const auto [r, text] = inflate_message(inf, Bytes{0x00});
        BOOST_TEST((r == Result::ok));
        BOOST_TEST(text.empty());
    }
}

BOOST_AUTO_TEST_CASE(compress_hello_like_the_rfc)
{
    MessageDeflater d(settings(15, true));
    // Level 6 fixed-Huffman "Hello" is exactly the RFC's bytes.
    BOOST_TEST(str(d.compress(bytes("Hello")))
               == str(Bytes{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
    // With context takeover the second one refers back.
    BOOST_TEST(str(d.compress(bytes("Hello")))
               == str(Bytes{0xf2, 0x00, 0x11, 0x00, 0x00}));
    MessageDeflater fresh(settings(15, false));
    BOOST_TEST(str(fresh.compress(bytes("Hello")))
               == str(fresh.compress(bytes("Hello"))));
}

BOOST_AUTO_TEST_CASE(sync_flush_tail_is_removed)
{
    for (bool takeover : {true, false}) {
        MessageDeflater d(settings(15, takeover));
        for (int i = 0; i < 5; ++i) {
            const auto out = d.compress(bytes(chat_json(i + 1)));
            BOOST_TEST_REQUIRE(out.size() >= 4u);
            const Bytes tail(out.end() - 4, out.end());
            BOOST_TEST((tail != Bytes{0x00, 0x00, 0xff, 0xff}));
        }
        // An empty message is one 0x00 octet or a little more, never "".
        BOOST_TEST(!d.compress({}).empty());
    }
}

// Round trips over every window size, with and without takeover, in
// random splits of the compressed input.
BOOST_AUTO_TEST_CASE(round_trips_every_window)
{
    std::mt19937 rng(7);
    std::vector<std::string> messages = {"", "a", "Hello", chat_json(1),
                                         chat_json(40)};
    std::string noise(70000, '\0');
    for (char &c : noise) c = static_cast<char>(rng());
    messages.push_back(noise);
    for (std::uint8_t bits = 9; bits <= 15; ++bits)
    for (bool takeover : {true, false}) {
        BOOST_TEST_CONTEXT("window " << int{bits} << " takeover " << takeover) {
            MessageDeflater d(settings(bits, takeover));
            MessageInflater inf(bits, !takeover);
            for (int round = 0; round < 3; ++round)
            for (const std::string &m : messages) {
                const auto z = d.compress(bytes(m));
                BOOST_TEST_REQUIRE(!z.empty());
                const Bytes copy(z.begin(), z.end());
                ByteBuffer out;
                std::size_t off = 0;
                Result r = Result::ok;
                while (off < copy.size() && r == Result::ok) {
                    const std::size_t n = std::min<std::size_t>(
                        copy.size() - off, 1 + rng() % 300);
                    r = inf.inflate(std::span(copy).subspan(off, n), out,
                                    1 << 20);
                    off += n;
                }
                if (r == Result::ok) r = inf.finish_message(out, 1 << 20);
                BOOST_TEST((r == Result::ok));
                BOOST_TEST(str(out.bytes()) == m);
            }
        }
    }
}

// Our output must be readable with the window we promised: zlib's own
// inflater set to exactly that window fails on references beyond it.
BOOST_AUTO_TEST_CASE(output_stays_within_the_window)
{
    // 2 KiB of random text repeated: matches 2 KiB back, beyond a 9- or
    // 10-bit window.
    std::mt19937 rng(3);
    std::string block(2048, 'a');
    for (char &c : block) c = static_cast<char>('a' + rng() % 26);
    const std::string message = block + block + block;
    for (std::uint8_t bits = 9; bits <= 15; ++bits) {
        MessageDeflater d(settings(bits, false));
        const auto z = d.compress(bytes(message));
        Bytes input(z.begin(), z.end());
        input.insert(input.end(), {0x00, 0x00, 0xff, 0xff});
        z_stream s = {};
        BOOST_TEST_REQUIRE(inflateInit2(&s, -bits) == Z_OK);
        std::string out(message.size() + 16, '\0');
        s.next_in = input.data();
        s.avail_in = static_cast<uInt>(input.size());
        s.next_out = reinterpret_cast<Bytef *>(out.data());
        s.avail_out = static_cast<uInt>(out.size());
        const int rc = inflate(&s, Z_SYNC_FLUSH);
        BOOST_TEST_CONTEXT("window " << int{bits}) {
            BOOST_TEST((rc == Z_OK || rc == Z_BUF_ERROR));
            out.resize(out.size() - s.avail_out);
            BOOST_TEST(out == message);
        }
        inflateEnd(&s);
        if (bits <= 10) {
            // ... and the compression really is poorer for it.
            MessageDeflater big(settings(15, false));
            BOOST_TEST(big.compress(bytes(message)).size() < z.size());
        }
    }
}

BOOST_AUTO_TEST_CASE(zip_bomb_stops_at_the_limit)
{
    // 10 MB of zeros compress to about 10 KB.
    MessageDeflater d(settings(15, false, 9));
    const std::string zeros(10 * 1000 * 1000, '\0');
    const auto z = d.compress(bytes(zeros));
    BOOST_TEST(z.size() < 20000u);
    MessageInflater inf(15, true);
    ByteBuffer out;
    const Result r = inf.inflate(z, out, 65536);
    BOOST_TEST((r == Result::too_big));
    BOOST_TEST(out.size() == 65537u);      // one byte over, then stopped
    BOOST_TEST(out.capacity() < 200000u);  // never near 10 MB
}

BOOST_AUTO_TEST_CASE(limit_is_exact)
{
    MessageDeflater d(settings(15, false));
    const std::string m(1000, 'x');
    const auto z = d.compress(bytes(m));
    const Bytes copy(z.begin(), z.end());
    MessageInflater at(15, true);
    BOOST_TEST((inflate_message(at, copy, 1000).first == Result::ok));
    MessageInflater below(15, true);
    BOOST_TEST((inflate_message(below, copy, 999).first == Result::too_big));
}

BOOST_AUTO_TEST_CASE(corrupt_data)
{
    // BTYPE 11 is reserved.
    MessageInflater a(15, false);
    BOOST_TEST((inflate_message(a, Bytes{0x07, 0x00}).first
                == Result::corrupt));
    // A stored block whose NLEN is not the complement of LEN.
    MessageInflater b(15, false);
    BOOST_TEST((inflate_message(b, Bytes{0x00, 0x05, 0x00, 0x00, 0x00, 'H',
                                         'e', 'l', 'l', 'o'}).first
                == Result::corrupt));
    // A distance before the start of the (empty) window.
    MessageInflater c(15, false);
    BOOST_TEST((inflate_message(c, Bytes{0xf2, 0x00, 0x11, 0x00, 0x00}).first
                == Result::corrupt));
}

BOOST_AUTO_TEST_CASE(no_context_takeover_frees_the_inflater)
{
    MessageDeflater d(settings(15, false));
    const auto z = d.compress(bytes(chat_json(3)));
    const Bytes copy(z.begin(), z.end());

    MessageInflater keeps(15, false);
    BOOST_TEST(keeps.memory() == 0u);  // nothing before the first message
    BOOST_TEST((inflate_message(keeps, copy).first == Result::ok));
    BOOST_TEST(keeps.memory() > 32768u);  // the window stays

    MessageInflater frees(15, true);
    ByteBuffer out;
    BOOST_TEST((frees.inflate(copy, out, 1 << 20) == Result::ok));
    BOOST_TEST(frees.memory() > 32768u);  // during the message
    BOOST_TEST((frees.finish_message(out, 1 << 20) == Result::ok));
    BOOST_TEST(frees.memory() == 0u);  // idle: nothing held
    BOOST_TEST(str(out.bytes()) == chat_json(3));
}

// The figures docs/compression.md quotes; printed for the record.
BOOST_AUTO_TEST_CASE(memory_per_setting)
{
    for (std::uint8_t bits : {9, 12, 15})
    for (std::uint8_t mem : {1, 8, 9}) {
        DeflaterSettings s = settings(bits, true);
        s.mem_level = mem;
        MessageDeflater d(s);
        (void) d.compress(bytes(chat_json(1)));
        // zlib's documented formula, plus its state structure.
        const std::size_t formula = (std::size_t{1} << (bits + 2))
                                  + (std::size_t{1} << (mem + 9));
        BOOST_TEST_MESSAGE("deflate window " << int{bits} << " memLevel "
                           << int{mem} << ": " << d.memory() << " bytes");
        BOOST_TEST(d.memory() >= formula);
        BOOST_TEST(d.memory() < formula + 24 * 1024);
    }
    for (std::uint8_t bits : {9, 12, 15}) {
        MessageInflater inf(bits, false);
        (void) inflate_message(inf, Bytes{0xf2, 0x48, 0xcd, 0xc9, 0xc9,
                                          0x07, 0x00});
        BOOST_TEST_MESSAGE("inflate window " << int{bits} << ": "
                           << inf.memory() << " bytes");
        BOOST_TEST(inf.memory() >= (std::size_t{1} << bits));
        BOOST_TEST(inf.memory() < (std::size_t{1} << bits) + 12 * 1024);
    }
}

BOOST_AUTO_TEST_SUITE_END()
