// Many client WebSockets driven by one epoll loop: non-blocking connect from a
// rotating set of loopback source addresses, TLS for wss://, the upgrade
// handshake, framed reads, and batched writes (one send per connection per
// read pass).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "endpoint.h"
#include "message_inflater.h"
#include "tls_context.h"
#include "ws_frame.h"

namespace wsload {

class WsHandler {
public:
    virtual ~WsHandler() = default;
    virtual void on_message(std::size_t id, Opcode opcode,
                            std::span<const std::uint8_t> payload) = 0;
};

struct PoolOptions {
    std::size_t connections = 1;
    // 127.0.0.1 .. 127.0.0.N as source addresses, so that more connections
    // than one address's ephemeral ports can be opened.
    int source_addresses = 4;
    // Handshakes in progress at once: more would overflow the listen backlog
    // and turn into SYN retries that stall the connect phase for a second.
    std::size_t max_pending = 256;
    // Sec-WebSocket-Extensions to offer; empty: none. When set, the server
    // must agree, and its compressed messages are inflated before
    // on_message (the client itself sends uncompressed messages).
    std::string deflate_offer;
    // wss:// only: verify the server's certificate against this CA file;
    // empty: no verification (the bench's own self-signed servers).
    std::string ca_file;
};

class WsClientPool {
public:
    WsClientPool(int epoll_fd, Endpoint endpoint, PoolOptions options, WsHandler& handler);
    ~WsClientPool();
    WsClientPool(const WsClientPool&) = delete;
    WsClientPool& operator=(const WsClientPool&) = delete;

    // Starts connects until `max_pending` are in flight or all have started.
    void start_connects();
    void on_event(std::size_t id, std::uint32_t events);

    // Appends to the connection's output; flush() sends it.
    void queue(std::size_t id, std::string_view bytes);
    void flush(std::size_t id);

    std::size_t size() const { return conns_.size(); }
    std::size_t open_count() const { return open_; }
    std::size_t failed_count() const { return failed_; }
    bool connect_phase_done() const { return open_ + failed_ == conns_.size(); }
    bool is_open(std::size_t id) const { return conns_[id].state == State::open; }
    const std::string& first_error() const { return first_error_; }
    std::size_t closed_after_open() const { return closed_after_open_; }

private:
    enum class State { idle, connecting, tls_handshaking, handshaking, open, closed };

    struct Connection {
        int fd = -1;
        SSL* ssl = nullptr;  // wss:// only
        State state = State::idle;
        bool watching_output = false;
        std::string out;
        std::size_t out_sent = 0;
        std::vector<std::uint8_t> in;
        std::string fragments;  // a fragmented message being reassembled
        Opcode fragment_opcode = Opcode::binary;
        bool fragments_compressed = false;
        MessageInflater inflater;  // permessage-deflate, when agreed
    };

    void start_one(std::size_t id);
    void close_socket(Connection& c);
    void advance_tls(std::size_t id);
    void send_upgrade(std::size_t id);
    void fail(std::size_t id, std::string_view why);
    void read_all(std::size_t id);
    bool check_handshake(std::size_t id);
    void dispatch_frames(std::size_t id);
    void watch_output(std::size_t id, bool on);
    void deliver(std::size_t id, Opcode opcode, bool compressed,
                 std::span<const std::uint8_t> payload);

    int epoll_fd_;
    Endpoint endpoint_;
    PoolOptions options_;
    WsHandler& handler_;
    std::unique_ptr<TlsContext> tls_;
    std::string handshake_request_;
    std::vector<Connection> conns_;
    std::size_t next_to_start_ = 0;
    std::size_t pending_ = 0;
    std::size_t open_ = 0;
    std::size_t failed_ = 0;
    std::size_t closed_after_open_ = 0;
    std::string first_error_;
};

}  // namespace wsload
