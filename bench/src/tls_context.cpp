#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdexcept>

namespace wsload {
namespace {

std::string openssl_error(const char* what) {
    char text[256];
    ERR_error_string_n(ERR_get_error(), text, sizeof text);
    return std::string(what) + ": " + text;
}

}  // namespace

TlsContext::TlsContext(const std::string& ca_file) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr) throw std::runtime_error(openssl_error("SSL_CTX_new"));

    // A write may take part of the buffer, and the retry may come from the
    // same string after it grew (queue() appends while a send is pending).
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE |
                               SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    if (!ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
            const std::string error = openssl_error(("CA file " + ca_file).c_str());
            SSL_CTX_free(ctx_);
            throw std::runtime_error(error);
        }
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
        verify_ = true;
    }
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

SSL* TlsContext::open(int fd, const std::string& server_name) const {
    SSL* ssl = SSL_new(ctx_);
    if (ssl == nullptr) return nullptr;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return nullptr;
    }
    SSL_set_connect_state(ssl);
    if (verify_) {
        // The certificate must name the host the URL named.
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set1_host(ssl, server_name.c_str()) != 1) {
            SSL_free(ssl);
            return nullptr;
        }
    }
    return ssl;
}

}  // namespace wsload
