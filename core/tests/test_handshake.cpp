#include <boost/test/unit_test.hpp>

#include <string>

#include "handshake.hpp"
#include "wscore.h"

using namespace wscore;

namespace {

HandshakeRequest good_request()
{
    HandshakeRequest r;
    r.method = "GET";
    r.http_major = 1;
    r.http_minor = 1;
    r.host = "example.com";
    r.upgrade = "websocket";
    r.connection = "Upgrade";
    r.version = "13";
    r.key = "dGhlIHNhbXBsZSBub25jZQ==";
    return r;
}

int status_of(const HandshakeRequest &r) { return validate_handshake(r).status; }
std::string reason_of(const HandshakeRequest &r) { return validate_handshake(r).reason; }

}  // namespace

BOOST_AUTO_TEST_SUITE(handshake)

BOOST_AUTO_TEST_CASE(rfc_example_accept_value)
{
    const auto v = validate_handshake(good_request());
    BOOST_TEST(v.status == 0);
    BOOST_TEST(std::string(v.accept.data()) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

BOOST_AUTO_TEST_CASE(key_is_trimmed_before_hashing)
{
    auto r = good_request();
    r.key = " \tdGhlIHNhbXBsZSBub25jZQ== ";
    const auto v = validate_handshake(r);
    BOOST_TEST(v.status == 0);
    BOOST_TEST(std::string(v.accept.data()) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

BOOST_AUTO_TEST_CASE(method_must_be_get)
{
    for (const char *m : {"POST", "get", "HEAD", "", "GET "}) {
        auto r = good_request();
        r.method = m;
        BOOST_TEST(status_of(r) == 405);
    }
    // Method is checked first, even on a non-upgrade request.
    auto r = good_request();
    r.method = "POST";
    r.upgrade.reset();
    BOOST_TEST(status_of(r) == 405);
}

BOOST_AUTO_TEST_CASE(upgrade_token_list)
{
    for (const char *u : {"websocket", "WebSocket", " websocket ", "h2c, websocket",
                          "websocket,foo", "foo ,\tWEBSOCKET\t, bar"}) {
        auto r = good_request();
        r.upgrade = u;
        BOOST_TEST(status_of(r) == 0, u);
        BOOST_TEST(is_websocket_upgrade(r));
    }
    for (const char *u : {"", "h2c", "websockets", "web socket", "websocket/13"}) {
        auto r = good_request();
        r.upgrade = u;
        BOOST_TEST(status_of(r) == 426, u);
        BOOST_TEST(reason_of(r) == "not a websocket upgrade");
        BOOST_TEST(!is_websocket_upgrade(r));
    }
    auto r = good_request();
    r.upgrade.reset();
    BOOST_TEST(status_of(r) == 426);
}

BOOST_AUTO_TEST_CASE(http_version)
{
    auto r = good_request();
    r.http_minor = 0;
    BOOST_TEST(status_of(r) == 400);
    BOOST_TEST(reason_of(r) == "HTTP/1.1 or later required");
    r.http_major = 0;
    r.http_minor = 9;
    BOOST_TEST(status_of(r) == 400);
    r.http_major = 2;
    r.http_minor = 0;
    BOOST_TEST(status_of(r) == 0);
}

BOOST_AUTO_TEST_CASE(host_required)
{
    auto r = good_request();
    r.host.reset();
    BOOST_TEST(status_of(r) == 400);
    r.host = "";
    BOOST_TEST(status_of(r) == 400);
    r.host = "  ";
    BOOST_TEST(status_of(r) == 400);
}

BOOST_AUTO_TEST_CASE(connection_must_list_upgrade)
{
    for (const char *c : {"Upgrade", "upgrade", "keep-alive, Upgrade", " UPGRADE "}) {
        auto r = good_request();
        r.connection = c;
        BOOST_TEST(status_of(r) == 0, c);
    }
    for (const char *c : {"keep-alive", "", "upgraded", "close"}) {
        auto r = good_request();
        r.connection = c;
        BOOST_TEST(status_of(r) == 400, c);
    }
    auto r = good_request();
    r.connection.reset();
    BOOST_TEST(status_of(r) == 400);
}

BOOST_AUTO_TEST_CASE(websocket_version_must_be_13)
{
    for (const char *v : {"13", " 13 ", "\t13"}) {
        auto r = good_request();
        r.version = v;
        BOOST_TEST(status_of(r) == 0);
    }
    for (const char *v : {"8", "12", "14", "13, 8", "", "013"}) {
        auto r = good_request();
        r.version = v;
        BOOST_TEST(status_of(r) == 426, v);
    }
    auto r = good_request();
    r.version.reset();
    BOOST_TEST(status_of(r) == 426);
}

BOOST_AUTO_TEST_CASE(key_must_be_base64_of_16_bytes)
{
    for (const char *k : {"", "dGhlIHNhbXBsZSBub25jZQ=",      // 23 chars
                          "dGhlIHNhbXBsZSBub25jZQ",           // no padding
                          "dGhlIHNhbXBsZSBub25jZQ===",        // 25
                          "dGhlIHNhbXBsZSBub25jZ===",         // 3 pads
                          "dGhlIHNhbXBsZSBub25jZQ=A",
                          "dGhlIHNhbXBsZSBub25j*Q==",
                          "dGhlIHNhbXBsZSBub25jZQ-_",
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {  // 21 bytes
        auto r = good_request();
        r.key = k;
        BOOST_TEST(status_of(r) == 400, k);
    }
    auto r = good_request();
    r.key.reset();
    BOOST_TEST(status_of(r) == 400);
    r.key = "AAAAAAAAAAAAAAAAAAAAAA==";
    BOOST_TEST(status_of(r) == 0);
}

BOOST_AUTO_TEST_CASE(order_of_checks)
{
    // Not an upgrade beats every later problem.
    auto r = good_request();
    r.upgrade = "h2c";
    r.http_minor = 0;
    r.host.reset();
    BOOST_TEST(status_of(r) == 426);
    // HTTP version before host, host before connection, connection before
    // version, version before key.
    r = good_request();
    r.http_minor = 0;
    r.host.reset();
    BOOST_TEST(reason_of(r) == "HTTP/1.1 or later required");
    r = good_request();
    r.host.reset();
    r.connection = "close";
    BOOST_TEST(reason_of(r) == "missing Host header");
    r = good_request();
    r.connection = "close";
    r.version = "8";
    BOOST_TEST(status_of(r) == 400);
    r = good_request();
    r.version = "8";
    r.key = "bad";
    BOOST_TEST(status_of(r) == 426);
}

BOOST_AUTO_TEST_CASE(c_api)
{
    wscore_handshake_request_t req{};
    auto set = [](wscore_str_t &s, const char *v) { s.data = v; s.len = std::char_traits<char>::length(v); };
    set(req.method, "GET");
    req.http_major = 1;
    req.http_minor = 1;
    set(req.host, "h");
    set(req.upgrade, "websocket");
    set(req.connection, "Upgrade");
    set(req.version, "13");
    set(req.key, "dGhlIHNhbXBsZSBub25jZQ==");
    wscore_handshake_result_t res;
    wscore_handshake_validate(&req, &res);
    BOOST_TEST(res.status == 0);
    BOOST_TEST(std::string(res.accept) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    BOOST_TEST(wscore_handshake_is_upgrade(&req) == 1);

    req.version.data = nullptr;
    wscore_handshake_validate(&req, &res);
    BOOST_TEST(res.status == 426);
    BOOST_TEST(res.reason != nullptr);

    req.upgrade.data = nullptr;  // absent header
    BOOST_TEST(wscore_handshake_is_upgrade(&req) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
