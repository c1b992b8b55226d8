#include "http_publisher.h"

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsload {
namespace {

// Case-insensitive header lookup inside one response head.
std::string_view header_value(std::string_view head, std::string_view name) {
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        const std::size_t start = pos + 2;
        const std::size_t end = head.find("\r\n", start);
        const std::string_view line =
            head.substr(start, end == std::string_view::npos ? head.npos : end - start);
        if (line.size() > name.size() && line[name.size()] == ':' &&
            strncasecmp(line.data(), name.data(), name.size()) == 0) {
            std::string_view value = line.substr(name.size() + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            return value;
        }
        pos = end;
    }
    return {};
}

}  // namespace

HttpPublisher::HttpPublisher(int epoll_fd, std::uint64_t epoll_key, Endpoint endpoint)
    : epoll_fd_(epoll_fd), key_(epoll_key), endpoint_(std::move(endpoint)) {
    request_head_ = "POST " + endpoint_.path + " HTTP/1.1\r\nHost: " + endpoint_.host_header +
                    "\r\nContent-Type: text/plain\r\nContent-Length: ";
}

HttpPublisher::~HttpPublisher() {
    if (fd_ >= 0) close(fd_);
}

bool HttpPublisher::connect_now() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(endpoint_.port);
    inet_pton(AF_INET, endpoint_.host.c_str(), &addr.sin_addr);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd_);
        fd_ = -1;
        return false;
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key_;
    watching_output_ = false;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &ev);
    return true;
}

void HttpPublisher::post(std::string_view body) {
    if (fd_ < 0) return;
    out_.append(request_head_);
    out_.append(std::to_string(body.size()));
    out_.append("\r\n\r\n");
    out_.append(body);
    ++sent_;
    flush();
}

void HttpPublisher::flush() {
    while (out_sent_ < out_.size()) {
        const ssize_t n =
            send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
        if (n > 0) {
            out_sent_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!watching_output_) {
                epoll_event ev{};
                ev.events = EPOLLIN | EPOLLOUT;
                ev.data.u64 = key_;
                epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &ev);
                watching_output_ = true;
            }
            return;
        }
        reconnect();
        return;
    }
    out_.clear();
    out_sent_ = 0;
    if (watching_output_) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = key_;
        epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &ev);
        watching_output_ = false;
    }
}

void HttpPublisher::on_event(std::uint32_t events) {
    if (fd_ < 0) return;
    if (events & EPOLLOUT) flush();
    if (fd_ >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) read_answers();
}

void HttpPublisher::read_answers() {
    std::array<char, 16 * 1024> buf{};
    for (;;) {
        const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
        if (n > 0) {
            in_.append(buf.data(), static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        while (consume_one_answer()) {
        }
        reconnect();  // keep-alive ended (keepalive_requests) or an error
        return;
    }
    while (consume_one_answer()) {
    }
}

bool HttpPublisher::consume_one_answer() {
    const std::string_view text(in_);
    const auto head_end = text.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return false;
    const std::string_view head = text.substr(0, head_end);
    std::size_t total = head_end + 4;

    if (header_value(head, "Transfer-Encoding").find("chunked") != std::string_view::npos) {
        // Publish answers are tiny; finding the last chunk is enough.
        const auto last = text.find("\r\n0\r\n\r\n", head_end);
        if (last == std::string_view::npos) return false;
        total = last + 7;
    } else {
        const std::string_view length = header_value(head, "Content-Length");
        std::size_t body = 0;
        std::from_chars(length.data(), length.data() + length.size(), body);
        if (text.size() < total + body) return false;
        total += body;
    }

    // "HTTP/1.1 2xx"
    if (head.size() > 9 && head[9] == '2') {
        ++answered_ok_;
    } else {
        ++answered_error_;
        if (first_error_status_.empty()) first_error_status_ = std::string(head.substr(0, head.find("\r\n")));
    }
    in_.erase(0, total);
    return true;
}

void HttpPublisher::reconnect() {
    // Whatever was sent but not answered is gone with the connection.
    lost_ += in_flight();
    close(fd_);
    fd_ = -1;
    out_.clear();
    out_sent_ = 0;
    in_.clear();
    connect_now();
}

}  // namespace wsload
