// The client side of the core (a proxy's upstream link): server frames
// must be unmasked, our frames are masked, the server's 101 is checked.

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "wscore.h"

namespace {

using Bytes = std::vector<std::uint8_t>;

// A predictable source is enough to check the wire format; the module
// gives the core OpenSSL's RAND_bytes.
void counting_key(void *ctx, std::uint8_t key[4])
{
    auto *n = static_cast<std::uint8_t *>(ctx);
    for (int i = 0; i < 4; ++i) {
        key[i] = static_cast<std::uint8_t>(*n + i + 1);
    }
    *n = static_cast<std::uint8_t>(*n + 0x10);
}

Bytes server_frame(std::uint8_t first, std::string_view payload,
    bool masked = false)
{
    Bytes f{first};
    f.push_back(static_cast<std::uint8_t>((masked ? 0x80 : 0)
                                          | payload.size()));
    const std::uint8_t key[4] = {1, 2, 3, 4};
    if (masked) {
        f.insert(f.end(), key, key + 4);
    }
    for (std::size_t i = 0; i < payload.size(); ++i) {
        f.push_back(static_cast<std::uint8_t>(payload[i])
                    ^ (masked ? key[i % 4] : 0));
    }
    return f;
}

struct Client {
    std::uint8_t counter = 0;
    wscore_mask_source_t source{counting_key, &counter};
    wscore_session_t *s = nullptr;

    Client()
    {
        wscore_config_t cfg;
        wscore_config_default(&cfg);
        cfg.ping_interval_ms = 0;
        s = wscore_session_create(&cfg, 0);
        wscore_session_act_as_client(s, &source);
    }
    ~Client() { wscore_session_destroy(s); }

    wscore_event_t feed(const Bytes &in)
    {
        wscore_event_t ev{};
        std::size_t used = 0;
        while (used < in.size()) {
            used += wscore_session_receive(s, in.data() + used,
                                           in.size() - used, 0, &ev);
            if (ev.type != WSCORE_EVENT_NONE) {
                break;
            }
        }
        return ev;
    }

    Bytes output()
    {
        const std::uint8_t *data;
        std::size_t len;
        wscore_session_output(s, &data, &len);
        Bytes out(data, data + len);
        wscore_session_output_consumed(s, len);
        return out;
    }
};

// Unmasks a frame we wrote, checking that it is masked.
std::string unmask_ours(const Bytes &frame, std::uint8_t &opcode)
{
    BOOST_REQUIRE(frame.size() >= 6);
    BOOST_TEST((frame[1] & 0x80) != 0);
    opcode = frame[0] & 0x0F;
    std::size_t len = frame[1] & 0x7F, pos = 2;
    if (len == 126) {
        len = std::size_t{frame[2]} << 8 | frame[3];
        pos = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) {
            len = len << 8 | frame[2 + i];
        }
        pos = 10;
    }
    const std::uint8_t *key = &frame[pos];
    pos += 4;
    BOOST_REQUIRE(frame.size() == pos + len);
    std::string out;
    for (std::size_t i = 0; i < len; ++i) {
        out.push_back(static_cast<char>(frame[pos + i] ^ key[i % 4]));
    }
    return out;
}

wscore_str_t str(const char *s)
{
    return wscore_str_t{s, s ? std::strlen(s) : 0};
}

wscore_handshake_response_t good_response()
{
    wscore_handshake_response_t r{};
    r.status = 101;
    r.upgrade = str("websocket");
    r.connection = str("Upgrade");
    r.accept = str("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    return r;
}

constexpr const char *rfc_key = "dGhlIHNhbXBsZSBub25jZQ==";

const char *check(const wscore_handshake_response_t &r,
    const char *offered = nullptr)
{
    const char *why = nullptr;
    const wscore_rc_t rc = wscore_handshake_check_response(&r, rfc_key,
        std::strlen(rfc_key), str(offered), &why);
    BOOST_TEST((rc == WSCORE_OK) == (why == nullptr));
    return why;
}

// The check of a 101 to a request that offered permessage-deflate.
struct DeflateCheck {
    const char *why = nullptr;
    int agreed = -1;
    wscore_deflate_params_t params{};
};

DeflateCheck check_deflate(const char *extensions)
{
    auto r = good_response();
    r.extensions = str(extensions);
    DeflateCheck c;
    const wscore_rc_t rc = wscore_handshake_check_response_deflate(&r,
        rfc_key, std::strlen(rfc_key), str(nullptr), &c.params, &c.agreed,
        &c.why);
    BOOST_TEST((rc == WSCORE_OK) == (c.why == nullptr));
    return c;
}

// A server's compressed message: raw deflate, sync flush, tail removed.
Bytes server_compressed_frame(const std::string &text, unsigned bits)
{
    wscore_deflater_t *d = wscore_deflater_create(bits, 6, 8, 0);
    BOOST_TEST_REQUIRE(d != nullptr);
    const std::uint8_t *z;
    std::size_t zlen;
    BOOST_TEST_REQUIRE(wscore_deflater_compress(d,
        reinterpret_cast<const std::uint8_t *>(text.data()), text.size(),
        &z, &zlen) == WSCORE_OK);
    BOOST_TEST_REQUIRE(zlen < 126);
    Bytes f{0xc1, static_cast<std::uint8_t>(zlen)};  // FIN, RSV1, text
    f.insert(f.end(), z, z + zlen);
    wscore_deflater_destroy(d);
    return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(client_side)

BOOST_AUTO_TEST_CASE(deflate_answer_declined_or_agreed)
{
    DeflateCheck c = check_deflate(nullptr);
    BOOST_TEST(c.why == nullptr);
    BOOST_TEST(c.agreed == 0);

    c = check_deflate("permessage-deflate");
    BOOST_TEST(c.why == nullptr);
    BOOST_TEST(c.agreed == 1);
    BOOST_TEST(c.params.server_max_window_bits == 15u);
    BOOST_TEST(c.params.client_max_window_bits == 15u);
    BOOST_TEST(c.params.server_no_context_takeover == 0);

    // what Python websockets answers by default
    c = check_deflate("permessage-deflate; server_max_window_bits=12; "
                      "client_max_window_bits=12");
    BOOST_TEST(c.why == nullptr);
    BOOST_TEST(c.params.server_max_window_bits == 12u);
    BOOST_TEST(c.params.client_max_window_bits == 12u);

    c = check_deflate("permessage-deflate;server_no_context_takeover ; "
                      "client_no_context_takeover; "
                      "server_max_window_bits=\"8\"");
    BOOST_TEST(c.why == nullptr);
    BOOST_TEST(c.params.server_no_context_takeover == 1);
    BOOST_TEST(c.params.client_no_context_takeover == 1);
    BOOST_TEST(c.params.server_max_window_bits == 8u);
}

BOOST_AUTO_TEST_CASE(deflate_answer_must_agree_to_the_offer)
{
    const char *bad[][2] = {
        {"x-webkit-deflate-frame", "an extension that was not offered"},
        {"permessage-deflate, permessage-deflate",
         "permessage-deflate answered twice"},
        {"permessage-deflate; foo", "unknown permessage-deflate parameter"},
        {"permessage-deflate; server_max_window_bits",
         "bad server_max_window_bits value"},
        {"permessage-deflate; server_max_window_bits=16",
         "bad server_max_window_bits value"},
        {"permessage-deflate; server_max_window_bits=09",
         "bad server_max_window_bits value"},
        {"permessage-deflate; client_max_window_bits",
         "bad client_max_window_bits value"},
        {"permessage-deflate; client_max_window_bits=8",
         "client_max_window_bits=8 cannot be honoured"},
        {"permessage-deflate; server_no_context_takeover; "
         "server_no_context_takeover",
         "repeated permessage-deflate parameter"},
        {"permessage-deflate; client_no_context_takeover=1",
         "value on a parameter that takes none"},
        {"permessage-deflate; =", "malformed Sec-WebSocket-Extensions"},
    };
    for (const auto &b : bad) {
        const DeflateCheck c = check_deflate(b[0]);
        BOOST_TEST_CONTEXT(b[0]) {
            BOOST_TEST_REQUIRE(c.why != nullptr);
            BOOST_TEST(std::string(c.why) == b[1]);
            BOOST_TEST(c.agreed == 0);
        }
    }
}

BOOST_AUTO_TEST_CASE(client_session_inflates_with_the_server_window)
{
    // The server compresses within 2^9 bytes and resets per message; the
    // client side inflates with the server's parameters, not the client's.
    Client c;
    wscore_deflate_params_t p{};
    p.server_max_window_bits = 9;
    p.client_max_window_bits = 15;
    p.server_no_context_takeover = 1;
    BOOST_TEST_REQUIRE(wscore_session_enable_deflate(c.s, &p) == WSCORE_OK);
    const std::string text(100, 'z');
    for (int i = 0; i < 2; ++i) {
        const wscore_event_t ev = c.feed(server_compressed_frame(text, 9));
        BOOST_TEST_REQUIRE(ev.type == WSCORE_EVENT_MESSAGE);
        BOOST_TEST(std::string(reinterpret_cast<const char *>(ev.data),
                               ev.len) == text);
    }
    // no server context takeover: no zlib state (window and ~7 KiB) is
    // held between messages, only the inflater object itself
    BOOST_TEST(wscore_session_inflater_memory(c.s) < 1024u);
}

BOOST_AUTO_TEST_CASE(unmasked_server_messages_are_read)
{
    Client c;
    const wscore_event_t ev = c.feed(server_frame(0x81, "hello"));
    BOOST_TEST(ev.type == WSCORE_EVENT_MESSAGE);
    BOOST_TEST(std::string(reinterpret_cast<const char *>(ev.data), ev.len)
               == "hello");
}

BOOST_AUTO_TEST_CASE(fragmented_server_messages_are_reassembled)
{
    Client c;
    Bytes in = server_frame(0x02, "ab");
    const Bytes more = server_frame(0x80, "cd");
    in.insert(in.end(), more.begin(), more.end());
    const wscore_event_t ev = c.feed(in);
    BOOST_TEST(ev.type == WSCORE_EVENT_MESSAGE);
    BOOST_TEST(ev.opcode == WSCORE_OP_BINARY);
    BOOST_TEST(std::string(reinterpret_cast<const char *>(ev.data), ev.len)
               == "abcd");
}

BOOST_AUTO_TEST_CASE(masked_server_frame_is_a_protocol_error)
{
    Client c;
    const wscore_event_t ev = c.feed(server_frame(0x81, "hello", true));
    BOOST_TEST(ev.type == WSCORE_EVENT_ERROR);
    BOOST_TEST(ev.close_code == WSCORE_CLOSE_PROTOCOL_ERROR);
    BOOST_TEST(std::string(ev.error) == "masked server frame");
    // our close frame is masked too
    std::uint8_t op = 0;
    const std::string payload = unmask_ours(c.output(), op);
    BOOST_TEST(op == WSCORE_OP_CLOSE);
    BOOST_TEST(payload.substr(0, 2) == std::string("\x03\xea", 2));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_from_the_server_is_1007)
{
    Client c;
    const wscore_event_t ev = c.feed(server_frame(0x81, "\xff\xfe"));
    BOOST_TEST(ev.type == WSCORE_EVENT_ERROR);
    BOOST_TEST(ev.close_code == WSCORE_CLOSE_INVALID_PAYLOAD);
}

BOOST_AUTO_TEST_CASE(pong_to_a_server_ping_is_masked)
{
    Client c;
    const wscore_event_t ev = c.feed(server_frame(0x89, "beat"));
    BOOST_TEST(ev.type == WSCORE_EVENT_PING);
    std::uint8_t op = 0;
    BOOST_TEST(unmask_ours(c.output(), op) == "beat");
    BOOST_TEST(op == WSCORE_OP_PONG);
}

BOOST_AUTO_TEST_CASE(each_frame_gets_a_fresh_key)
{
    Client c;
    c.feed(server_frame(0x89, "a"));
    const Bytes first = c.output();
    c.feed(server_frame(0x89, "a"));
    const Bytes second = c.output();
    BOOST_TEST(!std::equal(first.begin() + 2, first.begin() + 6,
                           second.begin() + 2));
}

BOOST_AUTO_TEST_CASE(close_we_start_is_masked)
{
    Client c;
    wscore_session_close(c.s, 1001, "going away", 0);
    std::uint8_t op = 0;
    const std::string payload = unmask_ours(c.output(), op);
    BOOST_TEST(op == WSCORE_OP_CLOSE);
    BOOST_TEST(payload == std::string("\x03\xe9going away", 12));
}

BOOST_AUTO_TEST_CASE(server_sessions_still_refuse_unmasked_frames)
{
    wscore_session_t *s = wscore_session_create(nullptr, 0);
    const Bytes in = server_frame(0x81, "hello");
    wscore_event_t ev{};
    wscore_session_receive(s, in.data(), in.size(), 0, &ev);
    BOOST_TEST(ev.type == WSCORE_EVENT_ERROR);
    BOOST_TEST(std::string(ev.error) == "unmasked client frame");
    wscore_session_destroy(s);
}

BOOST_AUTO_TEST_CASE(client_frame_encoding_lengths)
{
    for (std::size_t len : {0u, 1u, 125u, 126u, 65535u, 65536u, 70000u}) {
        const std::string payload(len, 'x');
        const std::uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};
        Bytes out(wscore_client_frame_len(len));
        const std::size_t n = wscore_client_frame_encode(out.data(),
            WSCORE_OP_TEXT, 1, 0,
            reinterpret_cast<const std::uint8_t *>(payload.data()), len, key);
        BOOST_TEST(n == out.size());
        BOOST_TEST(out[0] == 0x81);
        std::uint8_t op = 0;
        BOOST_TEST(unmask_ours(out, op) == payload);
    }
}

BOOST_AUTO_TEST_CASE(client_frame_len_that_would_wrap_is_0)
{
    BOOST_TEST(wscore_client_frame_len(UINT64_MAX) == 0u);
    BOOST_TEST(wscore_client_frame_len(SIZE_MAX - 13) == 0u);
    BOOST_TEST(wscore_client_frame_len(SIZE_MAX - 14) == SIZE_MAX);
}

BOOST_AUTO_TEST_CASE(client_frame_encode_refuses_bad_arguments)
{
    const std::uint8_t key[4] = {1, 2, 3, 4};
    const std::string big(126, 'x');
    const auto *p = reinterpret_cast<const std::uint8_t *>(big.data());
    Bytes out(wscore_client_frame_len(big.size()), 0xAA);
    const Bytes untouched = out;

    BOOST_TEST(wscore_client_frame_encode(nullptr, WSCORE_OP_TEXT, 1, 0, p,
                                          5, key) == 0u);
    BOOST_TEST(wscore_client_frame_encode(out.data(), WSCORE_OP_TEXT, 1, 0,
                                          p, 5, nullptr) == 0u);
    BOOST_TEST(wscore_client_frame_encode(out.data(), WSCORE_OP_TEXT, 1, 0,
                                          nullptr, 5, key) == 0u);
    BOOST_TEST(wscore_client_frame_encode(out.data(),
                                          static_cast<wscore_opcode_e>(3),
                                          1, 0, p, 5, key) == 0u);
    BOOST_TEST(wscore_client_frame_encode(out.data(),
                                          static_cast<wscore_opcode_e>(0x1F),
                                          1, 0, p, 5, key) == 0u);
    // control frames: whole, and at most 125 bytes (RFC 6455 5.5)
    BOOST_TEST(wscore_client_frame_encode(out.data(), WSCORE_OP_PING, 0, 0,
                                          p, 5, key) == 0u);
    BOOST_TEST(wscore_client_frame_encode(out.data(), WSCORE_OP_CLOSE, 1, 0,
                                          p, 126, key) == 0u);
    BOOST_TEST(out == untouched, boost::test_tools::per_element());

    // the edges that are valid still encode
    BOOST_TEST(wscore_client_frame_encode(out.data(), WSCORE_OP_PONG, 1, 0,
                                          p, 125, key) == 131u);
    BOOST_TEST(wscore_client_frame_encode(out.data(), WSCORE_OP_TEXT, 1, 0,
                                          nullptr, 0, key) == 6u);
    BOOST_TEST(out[0] == 0x81);
    BOOST_TEST(out[1] == 0x80);
}

BOOST_AUTO_TEST_CASE(response_checks_without_their_arguments_fail)
{
    const auto r = good_response();
    const char *why = nullptr;
    BOOST_TEST(wscore_handshake_check_response(nullptr, rfc_key, 24,
                                               str(nullptr), &why)
               == WSCORE_ERROR);
    BOOST_TEST(std::string(why) == "no response");
    BOOST_TEST(wscore_handshake_check_response(&r, nullptr, 24,
                                               str(nullptr), nullptr)
               == WSCORE_ERROR);

    // agreed is not left as the caller had it when the check cannot run
    wscore_deflate_params_t params{};
    int agreed = -1;
    why = nullptr;
    BOOST_TEST(wscore_handshake_check_response_deflate(nullptr, rfc_key, 24,
        str(nullptr), &params, &agreed, &why) == WSCORE_ERROR);
    BOOST_TEST(agreed == 0);
    BOOST_TEST(std::string(why) == "no response");
    agreed = -1;
    BOOST_TEST(wscore_handshake_check_response_deflate(&r, rfc_key, 24,
        str(nullptr), nullptr, &agreed, nullptr) == WSCORE_ERROR);
    BOOST_TEST(agreed == 0);
}

BOOST_AUTO_TEST_CASE(rfc_answer_is_accepted)
{
    BOOST_TEST(check(good_response()) == nullptr);
}

BOOST_AUTO_TEST_CASE(answers_that_fail)
{
    auto r = good_response();
    r.status = 200;
    BOOST_TEST(std::string(check(r)) == "status is not 101");

    r = good_response();
    r.upgrade = str(nullptr);
    BOOST_TEST(std::string(check(r)) == "no \"Upgrade: websocket\"");

    r = good_response();
    r.connection = str("keep-alive");
    BOOST_TEST(std::string(check(r)) == "no \"Connection: upgrade\"");

    r = good_response();
    r.accept = str(nullptr);
    BOOST_TEST(std::string(check(r)) == "no Sec-WebSocket-Accept");

    r = good_response();
    r.accept = str("s3pPLMBiTxaQ9kYGzzhZRbK+xOp=");
    BOOST_TEST(std::string(check(r)) == "wrong Sec-WebSocket-Accept");

    r = good_response();
    r.extensions = str("permessage-deflate");
    BOOST_TEST(std::string(check(r))
               == "an extension was chosen but none offered");
}

BOOST_AUTO_TEST_CASE(subprotocol_must_be_one_offered)
{
    auto r = good_response();
    r.protocol = str("chat");
    BOOST_TEST(check(r, "chat, superchat") == nullptr);
    BOOST_TEST(check(r, "superchat,chat") == nullptr);
    BOOST_TEST(std::string(check(r, "superchat"))
               == "the subprotocol chosen was not offered");
    BOOST_TEST(std::string(check(r))
               == "a subprotocol was chosen but none offered");
    r.protocol = str("chat, superchat");
    BOOST_TEST(std::string(check(r, "chat, superchat"))
               == "the subprotocol is not one token");
    // names compare exactly: the server answers what was offered
    r.protocol = str("CHAT");
    BOOST_TEST(check(r, "chat") != nullptr);
}

BOOST_AUTO_TEST_CASE(upgrade_tokens_ignore_case)
{
    auto r = good_response();
    r.upgrade = str("WebSocket");
    r.connection = str("keep-alive, UPGRADE");
    BOOST_TEST(check(r) == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
