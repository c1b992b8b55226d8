
/*
 * ngx_ws: TLS on the connections to Redis ("ws_redis ... ssl").
 *
 * NGINX's own client TLS, as proxy_pass to an https:// upstream uses it:
 * one SSL context built at configuration time from the ws_redis_ssl_*
 * directives, a TLS connection per link made with
 * ngx_ssl_create_connection() and driven by ngx_ssl_handshake() on the
 * worker's event loop, and the server's certificate checked after the
 * handshake: its chain against ws_redis_ssl_trusted_certificate, its name
 * against ws_redis_ssl_name. A client certificate is sent when given, as
 * Redis asks for one by default (tls-auth-clients yes).
 */


#include "ngx_http_ws_redis_tls.h"
#include "ngx_http_ws_tls_verify.h"


#if (NGX_SSL)

static ngx_uint_t ngx_http_ws_redis_tls_is_ip(ngx_str_t *name);

#endif


/*
 * Checks the ws_redis_ssl_* directives against ws_redis (srv, NULL when
 * there is none) and builds the SSL context, with messages for nginx -t.
 */
ngx_int_t
ngx_http_ws_redis_tls_configure(ngx_conf_t *cf,
    ngx_http_ws_redis_server_t *srv, ngx_http_ws_redis_ssl_conf_t *scf)
{
    ngx_uint_t           set;
#if (NGX_SSL)
    ngx_pool_cleanup_t  *cln;
#endif

    set = scf->name.len || scf->certificate.len || scf->certificate_key.len
          || scf->trusted_certificate.len || scf->verify != NGX_CONF_UNSET;

    if (srv == NULL || !srv->ssl) {
        if (set) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0, srv == NULL
                          ? "\"ws_redis_ssl_*\" directives need \"ws_redis\" "
                            "in the http block"
                          : "\"ws_redis_ssl_*\" directives need the \"ssl\" "
                            "parameter of \"ws_redis\"");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

#if (NGX_SSL)

    if (srv->sockaddr->sa_family == AF_UNIX) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"ws_redis\" %V: \"ssl\" needs a host:port address "
                      "(Redis serves TLS on its tls-port only)", &srv->name);
        return NGX_ERROR;
    }

    ngx_conf_init_value(scf->verify, 1);

    srv->ssl_verify = scf->verify;

    if (scf->certificate.len && scf->certificate_key.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "no \"ws_redis_ssl_certificate_key\" is defined for "
                      "\"ws_redis_ssl_certificate\" \"%V\"",
                      &scf->certificate);
        return NGX_ERROR;
    }

    if (scf->certificate_key.len && scf->certificate.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"ws_redis_ssl_certificate_key\" needs "
                      "\"ws_redis_ssl_certificate\"");
        return NGX_ERROR;
    }

    if (srv->ssl_verify && scf->trusted_certificate.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"ws_redis\" %V with \"ssl\" verifies the server's "
                      "certificate: name the CA with "
                      "\"ws_redis_ssl_trusted_certificate\", or set "
                      "\"ws_redis_ssl_verify off\"", &srv->name);
        return NGX_ERROR;
    }

    /* the name checked in the certificate, and sent as SNI */
    srv->ssl_name.len = scf->name.len ? scf->name.len : srv->host.len;
    srv->ssl_name.data = ngx_pnalloc(cf->pool, srv->ssl_name.len + 1);
    if (srv->ssl_name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(srv->ssl_name.data,
               scf->name.len ? scf->name.data : srv->host.data,
               srv->ssl_name.len);
    srv->ssl_name.data[srv->ssl_name.len] = '\0';

    srv->ssl_name_is_ip = ngx_http_ws_redis_tls_is_ip(&srv->ssl_name);

    srv->ssl_ctx = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (srv->ssl_ctx == NULL) {
        return NGX_ERROR;
    }

    srv->ssl_ctx->log = cf->log;

    if (ngx_ssl_create(srv->ssl_ctx, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(srv->ssl_ctx);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = srv->ssl_ctx;

    if (scf->certificate.len
        && ngx_ssl_certificate(cf, srv->ssl_ctx, &scf->certificate,
                               &scf->certificate_key, NULL)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (scf->trusted_certificate.len
        && ngx_ssl_trusted_certificate(cf, srv->ssl_ctx,
                                       &scf->trusted_certificate, 8)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;

#else

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"ws_redis\" \"ssl\" needs NGINX built with OpenSSL");
    return NGX_ERROR;

#endif
}


#if (NGX_SSL)

ngx_int_t
ngx_http_ws_redis_tls_start(ngx_connection_t *c,
    ngx_http_ws_redis_server_t *srv, ngx_connection_handler_pt handshaked,
    const char **why)
{
    ngx_int_t  rc;

    if (ngx_ssl_create_connection(srv->ssl_ctx, c, NGX_SSL_CLIENT) != NGX_OK)
    {
        *why = "TLS could not be set up";
        return NGX_ERROR;
    }

    /* RFC 6066: a server name, never an address, goes into SNI */
    if (!srv->ssl_name_is_ip
        && SSL_set_tlsext_host_name(c->ssl->connection,
                                    (char *) srv->ssl_name.data)
           == 0)
    {
        *why = "TLS could not be set up (SNI)";
        return NGX_ERROR;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = handshaked;
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        *why = "TLS handshake failed";
        return NGX_ERROR;
    }

    *why = ngx_http_ws_redis_tls_verify(c, srv);

    return *why ? NGX_ERROR : NGX_OK;
}


const char *
ngx_http_ws_redis_tls_verify(ngx_connection_t *c,
    ngx_http_ws_redis_server_t *srv)
{
    if (!srv->ssl_verify) {
        return NULL;
    }

    return ngx_http_ws_tls_verify_peer(c, &srv->ssl_name, srv->ssl_name_is_ip);
}


static ngx_uint_t
ngx_http_ws_redis_tls_is_ip(ngx_str_t *name)
{
#if (NGX_HAVE_INET6)
    u_char  addr6[16];

    if (ngx_inet6_addr(name->data, name->len, addr6) == NGX_OK) {
        return 1;
    }
#endif

    return ngx_inet_addr(name->data, name->len) != INADDR_NONE;
}

#endif
