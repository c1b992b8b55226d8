// Reading, writing and the TLS handshake on a non-blocking socket, with or
// without TLS, reported the same way so the pool has one code path.
#pragma once

#include <cstddef>
#include <string>

typedef struct ssl_st SSL;

namespace wsload {

enum class IoStatus {
    progress,    // bytes moved (or the handshake finished)
    want_read,   // wait until the socket is readable
    want_write,  // wait until the socket is writable
    eof,         // the peer closed
    failed,
};

struct IoResult {
    IoStatus status = IoStatus::failed;
    std::size_t bytes = 0;
    std::string error;  // set when failed
};

// `ssl` null: plain send()/recv() on fd.
IoResult stream_send(int fd, SSL* ssl, const char* data, std::size_t len);
IoResult stream_recv(int fd, SSL* ssl, unsigned char* buf, std::size_t len);
IoResult tls_handshake_step(SSL* ssl);

}  // namespace wsload
