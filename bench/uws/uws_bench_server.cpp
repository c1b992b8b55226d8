// The uWebSockets peer of bench/run.sh: the same three endpoints as the
// ngx_ws bench server, on one thread. Built by bench/uws/build.sh against
// uWebSockets sources the user provides (UWS_SRC); never vendored here.
//   /echo           WebSocket echo
//   /sub/CH         WebSocket subscriber of topic CH
//   /zsub/CH        the same with permessage-deflate (shared compressor)
//   POST /pub/CH    publishes the body to topic CH as one text message
#include "App.h"

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

namespace {

struct Subscriber {
    std::string topic;
};

constexpr unsigned kMaxMessage = 64 * 1024 * 1024;

// Subscribers ask for /sub/CH or /zsub/CH; the topic is CH.
template <bool SSL>
void upgrade_subscriber(uWS::HttpResponse<SSL> *res, uWS::HttpRequest *req,
                        us_socket_context_t *context)
{
    res->template upgrade<Subscriber>(
        {std::string(req->getParameter(0))},
        req->getHeader("sec-websocket-key"),
        req->getHeader("sec-websocket-protocol"),
        req->getHeader("sec-websocket-extensions"), context);
}

template <typename App>
void add_subscriber_route(App &app, const char *pattern, uWS::CompressOptions compression)
{
    app.template ws<Subscriber>(pattern, {
        .compression = compression,
        .maxPayloadLength = kMaxMessage,
        .idleTimeout = 0,
        .maxBackpressure = kMaxMessage,
        .upgrade = upgrade_subscriber<false>,
        .open = [](auto *ws) { ws->subscribe(ws->getUserData()->topic); },
    });
}

}  // namespace

int main(int argc, char **argv)
{
    int port = argc > 1 ? std::atoi(argv[1]) : 9001;
    uWS::App app;

    app.ws<Subscriber>("/echo", {
        .compression = uWS::DISABLED,
        .maxPayloadLength = kMaxMessage,
        .idleTimeout = 0,
        .maxBackpressure = kMaxMessage,
        .message = [](auto *ws, std::string_view message, uWS::OpCode op) {
            ws->send(message, op);
        },
    });
    add_subscriber_route(app, "/sub/:ch", uWS::DISABLED);
    add_subscriber_route(app, "/zsub/:ch", uWS::SHARED_COMPRESSOR);

    // The body may come in several chunks; publish once it is whole.
    app.post("/pub/:ch", [&app](auto *res, auto *req) {
        std::string topic(req->getParameter(0));
        auto body = std::make_shared<std::string>();
        res->onAborted([]() {});
        res->onData([&app, res, topic, body](std::string_view chunk, bool last) {
            body->append(chunk);
            if (!last) {
                return;
            }
            app.publish(topic, *body, uWS::OpCode::TEXT, false);
            res->end();
        });
    });

    app.listen("127.0.0.1", port, [port](auto *listen_socket) {
        if (!listen_socket) {
            std::cerr << "uws_bench_server: cannot listen on " << port << "\n";
            std::exit(1);
        }
    });
    app.run();
}
