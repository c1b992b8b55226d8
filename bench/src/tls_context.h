// Client TLS for wss:// endpoints: one OpenSSL context shared by every
// connection of a pool, and the SSL object of each connection.
#pragma once

#include <string>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace wsload {

class TlsContext {
public:
    // Without a CA file the server's certificate is not checked: the bench
    // runs against its own self-signed servers on loopback. With one, the
    // chain and the host name must verify. Throws std::runtime_error.
    explicit TlsContext(const std::string& ca_file);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    // A client SSL on the connected socket `fd`; nullptr on failure.
    SSL* open(int fd, const std::string& server_name) const;

private:
    SSL_CTX* ctx_ = nullptr;
    bool verify_ = false;
};

}  // namespace wsload
