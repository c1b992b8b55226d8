#include "ws_client_pool.h"

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream_io.h"

namespace wsload {
namespace {

constexpr std::size_t read_chunk = 64 * 1024;

sockaddr_in make_address(const std::string& host, std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    return addr;
}

}  // namespace

WsClientPool::WsClientPool(int epoll_fd, Endpoint endpoint, PoolOptions options,
                           WsHandler& handler)
    : epoll_fd_(epoll_fd),
      endpoint_(std::move(endpoint)),
      options_(options),
      handler_(handler),
      conns_(options.connections) {
    if (endpoint_.tls) tls_ = std::make_unique<TlsContext>(options_.ca_file);
    // The key is fixed: the tool does not check Sec-WebSocket-Accept (only the
    // 101), so a random key would buy nothing but setup time.
    handshake_request_ = "GET " + endpoint_.path + " HTTP/1.1\r\nHost: " +
                         endpoint_.host_header +
                         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n";
    if (!options_.deflate_offer.empty()) {
        handshake_request_ += "Sec-WebSocket-Extensions: " + options_.deflate_offer + "\r\n";
    }
    handshake_request_ += "\r\n";
}

WsClientPool::~WsClientPool() {
    for (auto& c : conns_) close_socket(c);
}

void WsClientPool::close_socket(Connection& c) {
    if (c.ssl != nullptr) {
        SSL_free(c.ssl);
        c.ssl = nullptr;
    }
    if (c.fd >= 0) {
        close(c.fd);  // also removes it from epoll
        c.fd = -1;
    }
}

void WsClientPool::start_connects() {
    while (pending_ < options_.max_pending && next_to_start_ < conns_.size()) {
        start_one(next_to_start_++);
    }
}

void WsClientPool::start_one(std::size_t id) {
    Connection& c = conns_[id];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        ++pending_;  // fail() undoes it
        fail(id, std::string("socket: ") + std::strerror(errno));
        return;
    }
    ++pending_;
    c.state = State::connecting;

    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Let connect() pick the port per 4-tuple rather than bind() per address,
    // so each source address offers its whole ephemeral range.
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);

    const int sources = options_.source_addresses < 1 ? 1 : options_.source_addresses;
    const std::string source =
        "127.0.0." + std::to_string(1 + static_cast<int>(id % static_cast<std::size_t>(sources)));
    sockaddr_in local = make_address(source, 0);
    if (bind(c.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        fail(id, std::string("bind ") + source + ": " + std::strerror(errno));
        return;
    }

    sockaddr_in remote = make_address(endpoint_.host, endpoint_.port);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0 &&
        errno != EINPROGRESS) {
        fail(id, std::string("connect: ") + std::strerror(errno));
        return;
    }

    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = id;
    c.watching_output = true;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);
}

void WsClientPool::fail(std::size_t id, std::string_view why) {
    Connection& c = conns_[id];
    if (first_error_.empty()) first_error_ = std::string(why);
    if (c.state == State::open) {
        --open_;
        ++closed_after_open_;
    } else if (c.state != State::closed) {
        --pending_;
    }
    if (c.state != State::closed) ++failed_;
    c.state = State::closed;
    close_socket(c);
    c.out.clear();
    c.in.clear();
    c.inflater.release();
    start_connects();
}

void WsClientPool::watch_output(std::size_t id, bool on) {
    Connection& c = conns_[id];
    if (c.watching_output == on || c.fd < 0) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.u64 = id;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.watching_output = on;
}

void WsClientPool::queue(std::size_t id, std::string_view bytes) {
    Connection& c = conns_[id];
    if (c.state != State::open) return;
    c.out.append(bytes);
}

void WsClientPool::flush(std::size_t id) {
    Connection& c = conns_[id];
    while (c.out_sent < c.out.size()) {
        const IoResult r = stream_send(c.fd, c.ssl, c.out.data() + c.out_sent,
                                       c.out.size() - c.out_sent);
        if (r.status == IoStatus::progress) {
            c.out_sent += r.bytes;
            continue;
        }
        if (r.status == IoStatus::want_write) {
            watch_output(id, true);
            return;
        }
        if (r.status == IoStatus::want_read) return;  // TLS: resumes after the next read
        fail(id, r.status == IoStatus::eof ? "server closed the connection" : r.error);
        return;
    }
    c.out.clear();
    c.out_sent = 0;
    if (c.state == State::open) watch_output(id, false);
}

void WsClientPool::on_event(std::size_t id, std::uint32_t events) {
    Connection& c = conns_[id];
    if (c.state == State::closed) return;

    if (c.state == State::connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            fail(id, std::string("connect: ") + std::strerror(err));
            return;
        }
        if (tls_) {
            c.ssl = tls_->open(c.fd, endpoint_.host);
            if (c.ssl == nullptr) {
                fail(id, "TLS: cannot create the connection's SSL");
                return;
            }
            c.state = State::tls_handshaking;
            advance_tls(id);
            return;
        }
        send_upgrade(id);
        return;
    }

    if (c.state == State::tls_handshaking) {
        advance_tls(id);
        return;
    }

    if (events & EPOLLOUT) flush(id);
    if (c.state == State::closed) return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_all(id);
    if (c.state == State::open && !c.out.empty()) flush(id);
}

void WsClientPool::advance_tls(std::size_t id) {
    const IoResult r = tls_handshake_step(conns_[id].ssl);
    switch (r.status) {
    case IoStatus::progress:
        send_upgrade(id);
        return;
    case IoStatus::want_read:
        watch_output(id, false);
        return;
    case IoStatus::want_write:
        watch_output(id, true);
        return;
    default:
        fail(id, r.error);
        return;
    }
}

void WsClientPool::send_upgrade(std::size_t id) {
    Connection& c = conns_[id];
    c.state = State::handshaking;
    c.out = handshake_request_;
    c.out_sent = 0;
    // flush() only turns output watching off for open connections; keep
    // it on here until the 101 arrives is harmless but wasteful.
    flush(id);
    if (c.state == State::closed) return;
    if (c.out.empty()) watch_output(id, false);
}

void WsClientPool::read_all(std::size_t id) {
    Connection& c = conns_[id];
    bool peer_closed = false;
    // One scratch buffer for all connections: growing each connection's own
    // buffer by 64 KiB per read would zero-fill it every time.
    static std::array<std::uint8_t, read_chunk> scratch;
    for (;;) {
        const IoResult r = stream_recv(c.fd, c.ssl, scratch.data(), scratch.size());
        if (r.status == IoStatus::progress) {
            c.in.insert(c.in.end(), scratch.begin(),
                        scratch.begin() + static_cast<std::ptrdiff_t>(r.bytes));
            // A short plain read emptied the socket (epoll is level-triggered);
            // TLS must read on until OpenSSL's own buffer is empty too.
            if (c.ssl == nullptr && r.bytes < read_chunk) break;
            continue;
        }
        if (r.status == IoStatus::eof) {
            peer_closed = true;
            break;
        }
        if (r.status == IoStatus::want_read) break;
        if (r.status == IoStatus::want_write) {
            watch_output(id, true);
            break;
        }
        fail(id, r.error);
        return;
    }

    if (c.state == State::handshaking && !check_handshake(id)) {
        if (peer_closed && c.state != State::closed) fail(id, "server closed during handshake");
        return;
    }
    if (c.state == State::open) dispatch_frames(id);
    if (peer_closed && c.state != State::closed) fail(id, "server closed the connection");
}

bool WsClientPool::check_handshake(std::size_t id) {
    Connection& c = conns_[id];
    const std::string_view text(reinterpret_cast<const char*>(c.in.data()), c.in.size());
    const auto end = text.find("\r\n\r\n");
    if (end == std::string_view::npos) return false;
    if (!text.starts_with("HTTP/1.1 101")) {
        const auto eol = text.find("\r\n");
        fail(id, "handshake answered: " + std::string(text.substr(0, eol)));
        return false;
    }
    if (!options_.deflate_offer.empty()) {
        // Compressed frames would be miscounted without the agreement.
        const std::string head(text.substr(0, end + 2));
        if (head.find("\r\nSec-WebSocket-Extensions: permessage-deflate") == std::string::npos) {
            fail(id, "permessage-deflate not agreed");
            return false;
        }
    }
    // Frames the server sent right after the 101 stay in the buffer.
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(end + 4));
    c.state = State::open;
    --pending_;
    ++open_;
    start_connects();
    return true;
}

void WsClientPool::dispatch_frames(std::size_t id) {
    Connection& c = conns_[id];
    std::size_t offset = 0;
    while (c.state == State::open) {
        const auto parsed = parse_server_frame(
            std::span<const std::uint8_t>(c.in).subspan(offset));
        if (parsed.status == FrameStatus::partial) break;
        if (parsed.status == FrameStatus::invalid) {
            fail(id, "server sent a masked frame");
            return;
        }
        const ServerFrame& f = parsed.frame;
        offset += f.wire_size;

        switch (f.opcode) {
        case Opcode::ping:
            c.out.append(build_masked_frame(Opcode::pong, f.payload));
            break;
        case Opcode::pong:
            break;
        case Opcode::close:
            fail(id, "server sent close");
            return;
        case Opcode::continuation:
            c.fragments.append(reinterpret_cast<const char*>(f.payload.data()),
                               f.payload.size());
            if (f.fin) {
                const std::string whole = std::move(c.fragments);
                c.fragments.clear();
                deliver(id, c.fragment_opcode, c.fragments_compressed,
                        {reinterpret_cast<const std::uint8_t*>(whole.data()), whole.size()});
            }
            break;
        default:
            if (f.fin) {
                deliver(id, f.opcode, f.rsv1, f.payload);
            } else {
                c.fragment_opcode = f.opcode;
                c.fragments_compressed = f.rsv1;
                c.fragments.assign(reinterpret_cast<const char*>(f.payload.data()),
                                   f.payload.size());
            }
            break;
        }
        if (c.state != State::open) return;
    }
    if (c.state == State::open) {
        c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(offset));
    }
}

void WsClientPool::deliver(std::size_t id, Opcode opcode, bool compressed,
                           std::span<const std::uint8_t> payload) {
    if (!compressed) {
        handler_.on_message(id, opcode, payload);
        return;
    }
    Connection& c = conns_[id];
    if (options_.deflate_offer.empty()) {
        fail(id, "compressed message without permessage-deflate");
        return;
    }
    const auto message = c.inflater.inflate(payload);
    if (!message) {
        fail(id, "corrupt compressed message");
        return;
    }
    handler_.on_message(id, opcode, *message);
}

}  // namespace wsload
