
/*
 * ngx_ws: checking a TLS server's certificate, for the links the module
 * opens itself (Redis, a proxied upstream): NGINX's own check is made
 * for its upstream module and wants its configuration.
 */

#ifndef _NGX_HTTP_WS_TLS_VERIFY_H_INCLUDED_
#define _NGX_HTTP_WS_TLS_VERIFY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


#if (NGX_SSL)

/*
 * NULL when the certificate is trusted and names name (a host name, or
 * an address when name_is_ip), else why not, for the log line.
 */
static ngx_inline const char *
ngx_http_ws_tls_verify_peer(ngx_connection_t *c, ngx_str_t *name,
    ngx_uint_t name_is_ip)
{
    long            rc;
    X509           *cert;
    u_char         *p;
    ngx_int_t       match;
    static u_char   why[160];

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        p = ngx_snprintf(why, sizeof(why) - 1,
                         "certificate verify failed: %s",
                         X509_verify_cert_error_string(rc));
        *p = '\0';
        return (const char *) why;
    }

    if (name_is_ip) {
        /* NGINX's check is for host names: addresses are in iPAddress */
        cert = SSL_get_peer_certificate(c->ssl->connection);
        match = cert != NULL
                && X509_check_ip_asc(cert, (char *) name->data, 0) == 1;
        X509_free(cert);

    } else {
        match = (ngx_ssl_check_host(c, name) == NGX_OK);
    }

    if (!match) {
        p = ngx_snprintf(why, sizeof(why) - 1,
                         "certificate does not match \"%V\"", name);
        *p = '\0';
        return (const char *) why;
    }

    return NULL;
}

#endif


#endif /* _NGX_HTTP_WS_TLS_VERIFY_H_INCLUDED_ */
