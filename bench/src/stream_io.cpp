#include "stream_io.h"

#include <cerrno>
#include <cstring>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

namespace wsload {
namespace {

IoResult from_errno(const char* what) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::want_read, 0, {}};
    return {IoStatus::failed, 0, std::string(what) + ": " + std::strerror(errno)};
}

// The outcome of an SSL call that returned `rc` <= 0.
IoResult from_ssl(SSL* ssl, int rc, const char* what) {
    switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        return {IoStatus::want_read, 0, {}};
    case SSL_ERROR_WANT_WRITE:
        return {IoStatus::want_write, 0, {}};
    case SSL_ERROR_ZERO_RETURN:
        return {IoStatus::eof, 0, {}};
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0 && (rc == 0 || errno == 0 || errno == ECONNRESET)) {
            return {IoStatus::eof, 0, {}};
        }
        return {IoStatus::failed, 0, std::string(what) + ": " + std::strerror(errno)};
    default: {
        char text[256];
        ERR_error_string_n(ERR_get_error(), text, sizeof text);
        return {IoStatus::failed, 0, std::string(what) + ": " + text};
    }
    }
}

}  // namespace

IoResult stream_send(int fd, SSL* ssl, const char* data, std::size_t len) {
    if (ssl == nullptr) {
        for (;;) {
            const ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
            if (n >= 0) return {IoStatus::progress, static_cast<std::size_t>(n), {}};
            if (errno == EINTR) continue;
            IoResult r = from_errno("send");
            if (r.status == IoStatus::want_read) r.status = IoStatus::want_write;
            return r;
        }
    }
    std::size_t written = 0;
    ERR_clear_error();
    const int rc = SSL_write_ex(ssl, data, len, &written);
    if (rc == 1) return {IoStatus::progress, written, {}};
    return from_ssl(ssl, rc, "SSL_write");
}

IoResult stream_recv(int fd, SSL* ssl, unsigned char* buf, std::size_t len) {
    if (ssl == nullptr) {
        for (;;) {
            const ssize_t n = recv(fd, buf, len, 0);
            if (n > 0) return {IoStatus::progress, static_cast<std::size_t>(n), {}};
            if (n == 0) return {IoStatus::eof, 0, {}};
            if (errno == EINTR) continue;
            return from_errno("recv");
        }
    }
    std::size_t got = 0;
    ERR_clear_error();
    const int rc = SSL_read_ex(ssl, buf, len, &got);
    if (rc == 1) return {IoStatus::progress, got, {}};
    return from_ssl(ssl, rc, "SSL_read");
}

IoResult tls_handshake_step(SSL* ssl) {
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl);
    if (rc == 1) return {IoStatus::progress, 0, {}};
    IoResult r = from_ssl(ssl, rc, "TLS handshake");
    if (r.status == IoStatus::eof) {
        r = {IoStatus::failed, 0, "TLS handshake: server closed the connection"};
    }
    return r;
}

}  // namespace wsload
