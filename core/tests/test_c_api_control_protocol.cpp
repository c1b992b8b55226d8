#include <boost/test/unit_test.hpp>

#include <cstring>
#include <string>
#include <string_view>

#include "wscore.h"

namespace {

std::string_view view(wscore_str_t s)
{
    return s.data == nullptr ? std::string_view{} : std::string_view{s.data, s.len};
}

wscore_str_t str(std::string_view s)
{
    return wscore_str_t{s.data(), s.size()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(c_api_control_protocol)

BOOST_AUTO_TEST_CASE(parse_publish)
{
    const std::string json =
        R"({"op":"publish","channel":"room:1","data":{"x":1},"id":"q"})";
    wscore_ctl_parser_t *p = wscore_ctl_parser_create();
    BOOST_TEST_REQUIRE(p != nullptr);
    wscore_ctl_request_t req;
    std::memset(&req, 0xff, sizeof req);
    BOOST_TEST(wscore_ctl_parse(p, json.data(), json.size(), &req)
               == WSCORE_OK);
    BOOST_TEST(req.op == WSCORE_CTL_PUBLISH);
    BOOST_TEST(view(req.channel) == "room:1");
    BOOST_TEST(view(req.data) == R"({"x":1})");
    BOOST_TEST(view(req.id) == R"("q")");
    BOOST_TEST(req.error == nullptr);
    BOOST_TEST(req.channel.data == json.data() + json.find("room:1"));
    wscore_ctl_parser_destroy(p);
}

BOOST_AUTO_TEST_CASE(parse_errors)
{
    wscore_ctl_parser_t *p = wscore_ctl_parser_create();
    BOOST_TEST_REQUIRE(p != nullptr);
    wscore_ctl_request_t req;
    const std::string unknown = R"({"op":"x","id":4})";
    BOOST_TEST(wscore_ctl_parse(p, unknown.data(), unknown.size(), &req)
               == WSCORE_ERROR);
    BOOST_TEST(std::string(req.error) == "unknown op");
    BOOST_TEST(view(req.id) == "4");
    BOOST_TEST(req.data.data == nullptr);

    BOOST_TEST(wscore_ctl_parse(p, "{", 1, &req) == WSCORE_ERROR);
    BOOST_TEST(std::string(req.error) == "bad json");
    BOOST_TEST(req.id.data == nullptr);
    BOOST_TEST(wscore_ctl_parse(p, nullptr, 0, &req) == WSCORE_ERROR);
    BOOST_TEST(std::string(req.error) == "bad json");
    BOOST_TEST(wscore_ctl_parse(p, "{}", 2, nullptr) == WSCORE_ERROR);
    BOOST_TEST(wscore_ctl_parse(nullptr, "{}", 2, &req) == WSCORE_ERROR);
    BOOST_TEST(std::string(req.error) == "out of memory");
    wscore_ctl_parser_destroy(p);
}

BOOST_AUTO_TEST_CASE(writers)
{
    const wscore_str_t no_id{nullptr, 0};
    const size_t n = wscore_ctl_write_ack(nullptr, 0, str("5"), 2);
    std::string out(n, '\0');
    BOOST_TEST(wscore_ctl_write_ack(out.data(), out.size(), str("5"), 2) == n);
    BOOST_TEST(out == R"({"op":"ack","id":5,"seq":2})");

    char buf[128];
    size_t len = wscore_ctl_write_error(buf, sizeof buf, no_id, "forbidden", nullptr);
    BOOST_TEST(std::string(buf, len) ==
               R"({"op":"error","id":null,"code":"forbidden","message":""})");
    len = wscore_ctl_write_message(buf, sizeof buf, str("c\"1"), 3, str("[true]"));
    BOOST_TEST(std::string(buf, len) ==
               R"({"op":"message","channel":"c\"1","seq":3,"data":[true]})");
    // Too small: sized, not written.
    BOOST_TEST(wscore_ctl_write_message(buf, 4, str("c"), 3, str("1")) > 4u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(c_api_text_message)

BOOST_AUTO_TEST_CASE(text_becomes_an_escaped_json_string)
{
    const std::string text = "say \"hi\"\\\n\x01 caf\xc3\xa9";
    const std::string want =
        R"({"op":"message","channel":"room:1","seq":7,"data":"say \"hi\"\\\n\u0001 caf)"
        "\xc3\xa9\"}";
    const size_t need = wscore_ctl_write_text_message(nullptr, 0,
        str("room:1"), 7, str(text));
    BOOST_TEST(need == want.size());
    std::string out(need, '\0');
    BOOST_TEST(wscore_ctl_write_text_message(out.data(), out.size(),
        str("room:1"), 7, str(text)) == need);
    BOOST_TEST(out == want);

    // too small a buffer: sized, nothing written
    std::string small(need - 1, '#');
    BOOST_TEST(wscore_ctl_write_text_message(small.data(), small.size(),
        str("room:1"), 7, str(text)) == need);
    BOOST_TEST(small == std::string(need - 1, '#'));
}

BOOST_AUTO_TEST_CASE(utf8_valid)
{
    const auto valid = [](std::string_view s) {
        return wscore_utf8_valid(
            reinterpret_cast<const uint8_t *>(s.data()), s.size());
    };
    BOOST_TEST(valid("") == 1);
    BOOST_TEST(valid("plain ascii") == 1);
    BOOST_TEST(valid("caf\xc3\xa9 \xf0\x9f\x98\x80") == 1);
    BOOST_TEST(valid("\xc3") == 0);              // truncated
    BOOST_TEST(valid("\xc0\xaf") == 0);          // overlong
    BOOST_TEST(valid("\xed\xa0\x80") == 0);      // surrogate
    BOOST_TEST(valid("\xf4\x90\x80\x80") == 0);  // above U+10FFFF
    BOOST_TEST(valid("ok\xff") == 0);
}

BOOST_AUTO_TEST_SUITE_END()
