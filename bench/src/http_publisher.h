// POSTs messages over one keep-alive HTTP/1.1 connection, pipelined, and
// counts the answers. Reconnects when the server ends the keep-alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "endpoint.h"

namespace wsload {

class HttpPublisher {
public:
    HttpPublisher(int epoll_fd, std::uint64_t epoll_key, Endpoint endpoint);
    ~HttpPublisher();
    HttpPublisher(const HttpPublisher&) = delete;
    HttpPublisher& operator=(const HttpPublisher&) = delete;

    bool connect_now();  // blocking connect; the socket is non-blocking after
    void post(std::string_view body);
    void on_event(std::uint32_t events);

    std::size_t in_flight() const { return sent_ - answered_ok_ - answered_error_ - lost_; }
    std::size_t sent() const { return sent_; }
    std::size_t answered_ok() const { return answered_ok_; }
    std::size_t answered_error() const { return answered_error_; }
    std::size_t lost() const { return lost_; }
    const std::string& first_error_status() const { return first_error_status_; }

private:
    void flush();
    void read_answers();
    bool consume_one_answer();
    void reconnect();

    int epoll_fd_;
    std::uint64_t key_;
    Endpoint endpoint_;
    std::string request_head_;
    int fd_ = -1;
    bool watching_output_ = false;
    std::string out_;
    std::size_t out_sent_ = 0;
    std::string in_;
    std::size_t sent_ = 0;
    std::size_t answered_ok_ = 0;
    std::size_t answered_error_ = 0;
    std::size_t lost_ = 0;
    std::string first_error_status_;
};

}  // namespace wsload
