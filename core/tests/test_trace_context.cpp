#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "trace_context.hpp"
#include "wscore.h"

using namespace wscore;
using namespace std::string_view_literals;

namespace {

// The example of the W3C recommendation, section 3.2.
constexpr auto example =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"sv;

std::string hex(const std::uint8_t *b, std::size_t n)
{
    std::string s(2 * n, '?');
    wscore_trace_hex(b, n, s.data());
    return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(trace_context)

BOOST_AUTO_TEST_CASE(parses_the_example_of_the_recommendation)
{
    auto ctx = traceparent_parse(example);
    BOOST_TEST_REQUIRE(ctx.has_value());
    BOOST_TEST(hex(ctx->trace_id.data(), 16)
               == "4bf92f3577b34da6a3ce929d0e0e4736");
    BOOST_TEST(hex(ctx->parent_id.data(), 8) == "00f067aa0ba902b7");
    BOOST_TEST(ctx->flags == 0x01);

    auto unsampled = traceparent_parse(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    BOOST_TEST_REQUIRE(unsampled.has_value());
    BOOST_TEST(unsampled->flags == 0);
}

BOOST_AUTO_TEST_CASE(header_whitespace_is_not_part_of_the_value)
{
    BOOST_TEST(traceparent_parse(std::string(" ") + std::string(example)
                                 + "\t").has_value());
}

BOOST_AUTO_TEST_CASE(refuses_what_the_recommendation_refuses)
{
    for (const std::string_view bad : {
             ""sv,
             "00"sv,
             // uppercase hex
             "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"sv,
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"sv,
             // all-zero ids
             "00-00000000000000000000000000000000-00f067aa0ba902b7-01"sv,
             "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"sv,
             // version ff, and a version that is not hex
             "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"sv,
             "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"sv,
             // version 00 with more after it
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"sv,
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-010"sv,
             // short fields, wrong separators, non-hex
             "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"sv,
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01"sv,
             "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"sv,
             "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01"sv,
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01"sv,
             "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01"sv,
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x"sv,
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"sv,
         }) {
        BOOST_TEST(!traceparent_parse(bad).has_value(), bad);
    }
}

BOOST_AUTO_TEST_CASE(a_later_version_may_add_fields)
{
    // section 4.3: parse the first four fields, ignore the rest
    auto ctx = traceparent_parse(
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-not");
    BOOST_TEST_REQUIRE(ctx.has_value());
    BOOST_TEST(ctx->flags == 0x01);
    BOOST_TEST(traceparent_parse(
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").has_value());
    // but the fifth field must be separated
    BOOST_TEST(!traceparent_parse(
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x").has_value());
}

BOOST_AUTO_TEST_CASE(formats_what_it_parses)
{
    auto ctx = traceparent_parse(example);
    BOOST_TEST_REQUIRE(ctx.has_value());
    std::array<char, traceparent_length> out{};
    traceparent_format(ctx->trace_id, ctx->parent_id, ctx->flags, out);
    BOOST_TEST(std::string_view(out.data(), out.size()) == example);

    // and the C face agrees
    wscore_trace_context_t c;
    BOOST_TEST_REQUIRE(wscore_traceparent_parse(example.data(),
                                                example.size(), &c) == 1);
    char cout[WSCORE_TRACEPARENT_LEN];
    wscore_traceparent_format(c.trace_id, c.parent_id, c.flags, cout);
    BOOST_TEST(std::string_view(cout, sizeof(cout)) == example);
    BOOST_TEST(wscore_traceparent_parse("00-x", 4, &c) == 0);
    BOOST_TEST(wscore_traceparent_parse(example.data(), example.size(),
                                        nullptr) == 0);
}

BOOST_AUTO_TEST_CASE(random_bytes_make_valid_ids)
{
    std::uint8_t zero[16] = {};
    wscore_trace_id_from_random(zero, sizeof(zero));
    BOOST_TEST(hex(zero, 16) == "00000000000000000000000000000001");

    std::uint8_t some[8] = {0xde, 0xad, 0, 0, 0, 0, 0, 0};
    wscore_trace_id_from_random(some, sizeof(some));
    BOOST_TEST(hex(some, 8) == "dead000000000000");

    const std::array<std::uint8_t, 8> r{};
    auto id = trace_id_from_random<8>(r);
    BOOST_TEST(id[7] == 1);

    // an id made so is accepted by the parser
    std::uint8_t span[8] = {};
    wscore_trace_id_from_random(span, sizeof(span));
    char out[WSCORE_TRACEPARENT_LEN];
    wscore_traceparent_format(zero, span, 0, out);
    BOOST_TEST(traceparent_parse(std::string_view(out, sizeof(out)))
                   .has_value());
}

BOOST_AUTO_TEST_SUITE_END()
