
/*
 * ngx_ws: TLS to a wss:// upstream of ws_proxy_pass, as proxy_ssl_* does
 * for proxy_pass: the server name of the URL in SNI (unless it is an
 * address), and with ws_proxy_ssl_verify on, the upstream's certificate
 * checked against ws_proxy_ssl_trusted_certificate and the URL's host.
 * A failure is the peer's failure: the next peer, then 502.
 */


#include "ngx_http_ws_proxy.h"
#include "ngx_http_ws_tls_verify.h"


/* At merge, where ws_proxy_pass names a wss:// URL. */
char *
ngx_http_ws_proxy_tls_conf(ngx_conf_t *cf, ngx_http_ws_proxy_conf_t *pcf)
{
#if (NGX_SSL)
    ngx_pool_cleanup_t  *cln;

    if (pcf->ssl_verify && pcf->ssl_trusted_certificate.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_proxy_ssl_verify\" is on but no "
                           "\"ws_proxy_ssl_trusted_certificate\" says whom "
                           "to trust");
        return NGX_CONF_ERROR;
    }

    pcf->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (pcf->ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    pcf->ssl->log = cf->log;

    if (ngx_ssl_create(pcf->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(pcf->ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = pcf->ssl;

    if (pcf->ssl_trusted_certificate.len
        && ngx_ssl_trusted_certificate(cf, pcf->ssl,
                                       &pcf->ssl_trusted_certificate, 8)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

#else

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"ws_proxy_pass\" wss:// needs NGINX built with "
                       "OpenSSL");
    return NGX_CONF_ERROR;

#endif
}


#if (NGX_SSL)

ngx_int_t
ngx_http_ws_proxy_tls_start(ngx_http_ws_proxy_t *px,
    ngx_connection_handler_pt handshaked, const char **why)
{
    ngx_int_t                  rc;
    ngx_connection_t          *c;
    ngx_http_ws_proxy_conf_t  *pcf;

    c = px->connection;
    pcf = px->conf;

    if (ngx_ssl_create_connection(pcf->ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
        *why = "TLS could not be set up";
        return NGX_ERROR;
    }

    /* RFC 6066: a server name, never an address, goes into SNI */
    if (!pcf->ssl_name_is_ip
        && SSL_set_tlsext_host_name(c->ssl->connection,
                                    (char *) pcf->ssl_name.data)
           == 0)
    {
        *why = "TLS could not be set up (SNI)";
        return NGX_ERROR;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        if (!c->write->timer_set) {
            ngx_add_timer(c->write, pcf->handshake_timeout);
        }

        c->ssl->handler = handshaked;
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        *why = "TLS handshake failed";
        return NGX_ERROR;
    }

    *why = ngx_http_ws_proxy_tls_verify(c, pcf);

    return *why ? NGX_ERROR : NGX_OK;
}


/* NULL when the certificate is trusted and names the URL's host. */
const char *
ngx_http_ws_proxy_tls_verify(ngx_connection_t *c,
    ngx_http_ws_proxy_conf_t *pcf)
{
    if (!pcf->ssl_verify) {
        return NULL;
    }

    return ngx_http_ws_tls_verify_peer(c, &pcf->ssl_name, pcf->ssl_name_is_ip);
}

#endif
