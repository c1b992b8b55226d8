#include <boost/test/unit_test.hpp>

#include <string>

#include "message_answer.hpp"
#include "wscore.h"

using namespace wscore;

BOOST_AUTO_TEST_SUITE(message_answer)

BOOST_AUTO_TEST_CASE(status_and_body_decide)
{
    BOOST_TEST((message_verdict(200, 5) == MessageVerdict::replace));
    BOOST_TEST((message_verdict(201, 1) == MessageVerdict::replace));
    BOOST_TEST((message_verdict(202, 1) == MessageVerdict::replace));
    BOOST_TEST((message_verdict(200, 0) == MessageVerdict::drop));
    BOOST_TEST((message_verdict(204, 0) == MessageVerdict::drop));
    // a 204 carries no body, even if an upstream sends one anyway
    BOOST_TEST((message_verdict(204, 3) == MessageVerdict::drop));
    BOOST_TEST((message_verdict(304, 0) == MessageVerdict::keep));
    BOOST_TEST((message_verdict(400, 0) == MessageVerdict::refuse));
    BOOST_TEST((message_verdict(403, 9) == MessageVerdict::refuse));
    BOOST_TEST((message_verdict(499, 0) == MessageVerdict::refuse));
    BOOST_TEST((message_verdict(500, 0) == MessageVerdict::fail));
    BOOST_TEST((message_verdict(502, 4) == MessageVerdict::fail));
    BOOST_TEST((message_verdict(504, 0) == MessageVerdict::fail));
    BOOST_TEST((message_verdict(101, 0) == MessageVerdict::fail));
    BOOST_TEST((message_verdict(302, 0) == MessageVerdict::fail));
    BOOST_TEST((message_verdict(0, 0) == MessageVerdict::fail));
    BOOST_TEST((message_verdict(600, 0) == MessageVerdict::fail));
}

BOOST_AUTO_TEST_CASE(opcode_header)
{
    BOOST_TEST(*parse_answer_opcode("text") == 0x1);
    BOOST_TEST(*parse_answer_opcode(" Binary ") == 0x2);
    BOOST_TEST(!parse_answer_opcode("").has_value());
    BOOST_TEST(!parse_answer_opcode("texts").has_value());
    BOOST_TEST(!parse_answer_opcode("1").has_value());
}

BOOST_AUTO_TEST_CASE(close_header)
{
    auto r = parse_close_request("4001 go away");
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->code == 4001);
    BOOST_TEST(r->reason == "go away");

    r = parse_close_request(" 1000 ");
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->code == 1000);
    BOOST_TEST(r->reason.empty());

    r = parse_close_request("1008\tbad  words ");
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->reason == "bad  words");

    BOOST_TEST(!parse_close_request("").has_value());
    BOOST_TEST(!parse_close_request("bye").has_value());
    BOOST_TEST(!parse_close_request("4001bye").has_value());
    BOOST_TEST(!parse_close_request("1005").has_value());   // never sent
    BOOST_TEST(!parse_close_request("1006").has_value());
    BOOST_TEST(!parse_close_request("1010").has_value());   // a client's
    BOOST_TEST(!parse_close_request("999").has_value());
    BOOST_TEST(!parse_close_request("5000").has_value());
    BOOST_TEST(!parse_close_request("10000").has_value());
    BOOST_TEST(!parse_close_request("65536").has_value());
    BOOST_TEST(!parse_close_request("00001000").has_value());
}

BOOST_AUTO_TEST_CASE(close_reason_fits_a_frame)
{
    // 61 two-byte characters: 122 bytes fit, the 62nd would not
    std::string reason;
    for (int i = 0; i < 70; ++i) {
        reason += "\xc3\xa9";
    }
    const std::string header = "4000 " + reason;
    const auto r = parse_close_request(header);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->reason.size() == 122u);
    BOOST_TEST(r->reason == std::string_view(reason).substr(0, 122));
}

BOOST_AUTO_TEST_CASE(utf8_prefix_cuts_at_a_boundary)
{
    BOOST_TEST(utf8_prefix("hello", 123) == "hello");
    BOOST_TEST(utf8_prefix("hello", 3) == "hel");
    BOOST_TEST(utf8_prefix("h\xc3\xa9llo", 2) == "h");
    BOOST_TEST(utf8_prefix("h\xc3\xa9llo", 3) == "h\xc3\xa9");
    // an invalid byte ends what is taken
    BOOST_TEST(utf8_prefix("ab\xff" "cd", 123) == "ab");
    BOOST_TEST(utf8_prefix("", 123).empty());
    BOOST_TEST(wscore_utf8_prefix("h\xe2\x82\xac", 4, 3) == 1u);
}

BOOST_AUTO_TEST_CASE(c_api)
{
    BOOST_TEST(wscore_message_verdict(304, 0) == WSCORE_MESSAGE_KEEP);
    BOOST_TEST(wscore_message_verdict(200, 1) == WSCORE_MESSAGE_REPLACE);
    BOOST_TEST(wscore_message_verdict(200, 0) == WSCORE_MESSAGE_DROP);
    BOOST_TEST(wscore_message_verdict(429, 0) == WSCORE_MESSAGE_REFUSE);
    BOOST_TEST(wscore_message_verdict(503, 0) == WSCORE_MESSAGE_FAIL);
    BOOST_TEST(wscore_answer_opcode("binary", 6) == WSCORE_OP_BINARY);
    BOOST_TEST(wscore_answer_opcode("x", 1) == 0);

    uint16_t code = 0;
    wscore_str_t reason{nullptr, 0};
    BOOST_TEST(wscore_close_request_parse("4002 bye", 8, &code, &reason)
               == 1);
    BOOST_TEST(code == 4002);
    BOOST_TEST(std::string_view(reason.data, reason.len) == "bye");
    BOOST_TEST(wscore_close_request_parse("x", 1, &code, &reason) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
