
/*
 * ngx_ws: token auth ("ws_auth_jwt" and friends): a JSON Web Token
 * (RFC 7519) verified at the handshake; a missing or bad one gets 401
 * before the upgrade.
 *
 * Signatures are checked by libjwt (HS256/384/512, RS256/384/512,
 * ES256/384/512) and, for EdDSA, which libjwt 1.10 lacks, by OpenSSL's
 * EVP interface. The algorithm is never taken from the token alone: the
 * header's "alg" must be the algorithm configured with the key, before
 * any signature is computed (no "none", no RS256-to-HS256 confusion).
 * Claims are read from the signed payload by the core (simdjson), which
 * validates the whole document.
 */


#include "ngx_http_ws_jwt.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_header_list.h"
#include "ngx_http_ws_security_module.h"
#include "ngx_http_ws_session.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>


/* A token is a header value or URL argument: anything longer is refused. */
#define NGX_HTTP_WS_JWT_MAX_LEN  8192


struct ngx_http_ws_jwt_alg_s {
    const char                *name;
    jwt_alg_t                  jwt_alg;       /* JWT_ALG_INVAL: EVP */
    int                        pkey_type;     /* EVP_PKEY_*, 0 for HMAC */
    size_t                     min_bits;
    const char                *curve;         /* ES*: the group name */
};


static ngx_http_ws_jwt_alg_t  ngx_http_ws_jwt_algs[] = {
    { "HS256", JWT_ALG_HS256, 0, 256, NULL },
    { "HS384", JWT_ALG_HS384, 0, 384, NULL },
    { "HS512", JWT_ALG_HS512, 0, 512, NULL },
    { "RS256", JWT_ALG_RS256, EVP_PKEY_RSA, 2048, NULL },
    { "RS384", JWT_ALG_RS384, EVP_PKEY_RSA, 2048, NULL },
    { "RS512", JWT_ALG_RS512, EVP_PKEY_RSA, 2048, NULL },
    { "ES256", JWT_ALG_ES256, EVP_PKEY_EC, 256, "prime256v1" },
    { "ES384", JWT_ALG_ES384, EVP_PKEY_EC, 384, "secp384r1" },
    { "ES512", JWT_ALG_ES512, EVP_PKEY_EC, 521, "secp521r1" },
    { "EdDSA", JWT_ALG_INVAL, EVP_PKEY_ED25519, 0, NULL },
    { NULL, JWT_ALG_INVAL, 0, 0, NULL }
};


static ngx_int_t ngx_http_ws_jwt_find(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_str_t *token);
static ngx_int_t ngx_http_ws_jwt_from_header(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_ws_jwt_from_protocol(ngx_http_request_t *r,
    ngx_str_t *prefix, ngx_str_t *token);
static const char *ngx_http_ws_jwt_verify_signature(ngx_pool_t *pool,
    ngx_log_t *log, ngx_http_ws_security_conf_t *wsscf, ngx_str_t *token,
    ngx_str_t *payload);
static ngx_int_t ngx_http_ws_jwt_eddsa(ngx_http_ws_jwt_key_t *key,
    ngx_str_t *signed_part, ngx_str_t *sig);
static const char *ngx_http_ws_jwt_check_claims(ngx_pool_t *pool,
    ngx_http_ws_security_conf_t *wsscf, ngx_str_t *payload,
    ngx_http_ws_jwt_result_t *res);
static void ngx_http_ws_jwt_aud_visit(void *ctx, const char *s, size_t len);
static void ngx_http_ws_jwt_free_key(void *data);


char *
ngx_http_ws_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_security_conf_t *wsscf = conf;

    int                     bits;
    BIO                    *bio;
    char                    group[64];
    size_t                  len;
    ngx_str_t              *value, file;
    EVP_PKEY               *pkey;
    ngx_file_t              f;
    ngx_uint_t              i;
    ngx_file_info_t         fi;
    ngx_pool_cleanup_t     *cln;
    ngx_http_ws_jwt_alg_t  *alg;
    ngx_http_ws_jwt_key_t  *key;

    value = cf->args->elts;

    alg = NULL;

    for (i = 0; ngx_http_ws_jwt_algs[i].name; i++) {
        if (ngx_strcmp(value[1].data, ngx_http_ws_jwt_algs[i].name) == 0) {
            alg = &ngx_http_ws_jwt_algs[i];
            break;
        }
    }

    if (alg == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown algorithm \"%V\" in \"ws_auth_jwt_key\", "
                           "it must be one of HS256, HS384, HS512, RS256, "
                           "RS384, RS512, ES256, ES384, ES512, EdDSA",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (wsscf->jwt_keys == NGX_CONF_UNSET_PTR) {
        wsscf->jwt_keys = ngx_array_create(cf->pool, 2,
                                           sizeof(ngx_http_ws_jwt_key_t));
        if (wsscf->jwt_keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    key = ngx_array_push(wsscf->jwt_keys);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(key, sizeof(ngx_http_ws_jwt_key_t));
    key->alg = alg;

    file = value[2];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&f, sizeof(ngx_file_t));
    f.name = file;
    f.log = cf->log;

    f.fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (f.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"ws_auth_jwt_key\" cannot open \"%V\"", &file);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(f.fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 64 * 1024)
    {
        ngx_close_file(f.fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" file \"%V\" is not a key "
                           "file (unreadable or over 64k)", &file);
        return NGX_CONF_ERROR;
    }

    len = (size_t) ngx_file_size(&fi);

    key->data.data = ngx_pnalloc(cf->pool, len + 1);
    if (key->data.data == NULL) {
        ngx_close_file(f.fd);
        return NGX_CONF_ERROR;
    }

    if (ngx_read_file(&f, key->data.data, len, 0) != (ssize_t) len) {
        ngx_close_file(f.fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" cannot read \"%V\"", &file);
        return NGX_CONF_ERROR;
    }

    ngx_close_file(f.fd);

    key->data.len = len;
    key->data.data[len] = '\0';

    if (alg->pkey_type == 0) {
        /* a shared secret: the file's bytes, less one trailing newline */
        if (len && key->data.data[len - 1] == '\n') {
            key->data.len--;
        }

        /* RFC 7518 section 3.2: at least as long as the hash output */
        if (key->data.len * 8 < alg->min_bits) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"ws_auth_jwt_key\" %s secret in \"%V\" is "
                               "%uz bytes, RFC 7518 requires at least %uz",
                               alg->name, &file, key->data.len,
                               alg->min_bits / 8);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    bio = BIO_new_mem_buf(key->data.data, (int) len);
    if (bio == NULL) {
        return NGX_CONF_ERROR;
    }

    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (pkey == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" %s needs a PEM public key "
                           "(\"-----BEGIN PUBLIC KEY-----\"), \"%V\" is not "
                           "one", alg->name, &file);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        EVP_PKEY_free(pkey);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_ws_jwt_free_key;
    cln->data = pkey;
    key->pkey = pkey;

    if (EVP_PKEY_get_base_id(pkey) != alg->pkey_type) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" %s: the key in \"%V\" is a "
                           "%s key, not %s", alg->name, &file,
                           OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)),
                           OBJ_nid2sn(alg->pkey_type));
        return NGX_CONF_ERROR;
    }

    bits = EVP_PKEY_get_bits(pkey);

    if (alg->pkey_type == EVP_PKEY_RSA && (size_t) bits < alg->min_bits) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" %s: the RSA key in \"%V\" "
                           "has %d bits, RFC 7518 requires at least 2048",
                           alg->name, &file, bits);
        return NGX_CONF_ERROR;
    }

    if (alg->curve) {
        if (EVP_PKEY_get_utf8_string_param(pkey, "group", group,
                                           sizeof(group), NULL) != 1
            || ngx_strcmp(group, alg->curve) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"ws_auth_jwt_key\" %s needs a key on curve "
                               "%s, the one in \"%V\" is not", alg->name,
                               alg->curve, &file);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* ws_auth_jwt_token header arg=token cookie=jwt protocol=bearer. ...; */
char *
ngx_http_ws_jwt_token(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_security_conf_t *wsscf = conf;

    u_char                    *p;
    ngx_str_t                 *value;
    ngx_uint_t                 i;
    ngx_http_ws_jwt_source_t  *src;

    if (wsscf->jwt_sources != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    wsscf->jwt_sources = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                          sizeof(ngx_http_ws_jwt_source_t));
    if (wsscf->jwt_sources == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        src = ngx_array_push(wsscf->jwt_sources);
        if (src == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(src, sizeof(ngx_http_ws_jwt_source_t));

        if (ngx_strcmp(value[i].data, "header") == 0) {
            src->type = NGX_HTTP_WS_JWT_FROM_HEADER;
            continue;
        }

        if (ngx_strncmp(value[i].data, "arg=", 4) == 0
            && value[i].len > 4)
        {
            src->type = NGX_HTTP_WS_JWT_FROM_ARG;
            src->name.data = value[i].data + 4;
            src->name.len = value[i].len - 4;
            continue;
        }

        if (ngx_strncmp(value[i].data, "protocol=", 9) == 0
            && value[i].len > 9)
        {
            src->type = NGX_HTTP_WS_JWT_FROM_PROTOCOL;
            src->name.data = value[i].data + 9;
            src->name.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "cookie=", 7) == 0
            && value[i].len > 7)
        {
            /* read through $cookie_<name>: the same parsing as NGINX's */
            src->type = NGX_HTTP_WS_JWT_FROM_COOKIE;
            src->name.len = value[i].len - 7 + sizeof("cookie_") - 1;
            src->name.data = ngx_pnalloc(cf->pool, src->name.len);
            if (src->name.data == NULL) {
                return NGX_CONF_ERROR;
            }

            p = ngx_cpymem(src->name.data, "cookie_", sizeof("cookie_") - 1);
            ngx_memcpy(p, value[i].data + 7, value[i].len - 7);
            ngx_strlow(src->name.data, src->name.data, src->name.len);
            src->hash = ngx_hash_key(src->name.data, src->name.len);
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid token source \"%V\" in "
                           "\"ws_auth_jwt_token\", it must be \"header\", "
                           "\"arg=<name>\", \"cookie=<name>\" or "
                           "\"protocol=<prefix>\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_ws_jwt_merge(ngx_conf_t *cf, ngx_http_ws_security_conf_t *prev,
    ngx_http_ws_security_conf_t *conf)
{
    ngx_http_ws_loc_conf_t    *wscf;
    ngx_http_ws_jwt_source_t  *src;

    ngx_conf_merge_value(conf->jwt, prev->jwt, 0);
    ngx_conf_merge_ptr_value(conf->jwt_keys, prev->jwt_keys, NULL);
    ngx_conf_merge_ptr_value(conf->jwt_sources, prev->jwt_sources, NULL);
    ngx_conf_merge_str_value(conf->jwt_issuer, prev->jwt_issuer, "");
    ngx_conf_merge_str_value(conf->jwt_audience, prev->jwt_audience, "");
    ngx_conf_merge_str_value(conf->jwt_channels_claim,
                             prev->jwt_channels_claim, "");
    ngx_conf_merge_value(conf->auth_first_message, prev->auth_first_message,
                         0);
    ngx_conf_merge_msec_value(conf->auth_timeout, prev->auth_timeout, 10000);

    if (conf->auth_first_message && !conf->jwt) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_first_message on\" needs "
                           "\"ws_auth_jwt on\"");
        return NGX_CONF_ERROR;
    }

    if (conf->auth_first_message) {
        wscf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_ws_module);

        /* evaluated at the handshake, before the token: $ws_user is empty */
        if (wscf->subscribe || wscf->publish) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"ws_auth_first_message on\" cannot be "
                               "used with \"ws_subscribe\" or "
                               "\"ws_publish\", which are evaluated before "
                               "the token arrives");
            return NGX_CONF_ERROR;
        }
    }
    ngx_conf_merge_sec_value(conf->jwt_leeway, prev->jwt_leeway, 0);
    ngx_conf_merge_value(conf->jwt_user_channel, prev->jwt_user_channel, 1);

    if (!conf->jwt) {
        return NGX_CONF_OK;
    }

    if (conf->jwt_keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt on\" needs at least one "
                           "\"ws_auth_jwt_key\"");
        return NGX_CONF_ERROR;
    }

    if (conf->jwt_sources == NULL) {
        conf->jwt_sources = ngx_array_create(cf->pool, 1,
                                             sizeof(ngx_http_ws_jwt_source_t));
        if (conf->jwt_sources == NULL) {
            return NGX_CONF_ERROR;
        }

        src = ngx_array_push(conf->jwt_sources);
        if (src == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(src, sizeof(ngx_http_ws_jwt_source_t));
        src->type = NGX_HTTP_WS_JWT_FROM_HEADER;
    }

    return NGX_CONF_OK;
}


/*
 * NGX_OK (no auth configured, or a good token: res filled), NGX_DECLINED
 * (refusal filled), NGX_ERROR.
 */
ngx_int_t
ngx_http_ws_jwt_check(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_http_ws_jwt_result_t *res,
    ngx_http_ws_refusal_t *refusal)
{
    ngx_str_t  token;

    if (!wsscf->jwt) {
        return NGX_OK;
    }

    if (ngx_http_ws_jwt_find(r, wsscf, &token) != NGX_OK) {
        if (wsscf->auth_first_message) {
            /* ngx_http_ws_auth_session.c takes it from the first message */
            ngx_http_ws_security_ctx(r)->auth_pending = 1;
            return NGX_OK;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: JWT rejected: no token in the request");
        goto refused;
    }

    if (ngx_http_ws_jwt_verify(r->pool, r->connection->log, wsscf, &token,
                               res)
        == NGX_OK)
    {
        return NGX_OK;
    }

refused:

    refusal->status = NGX_HTTP_UNAUTHORIZED;
    refusal->reason = "invalid or missing token";

    {
        ngx_str_t  challenge;

        ngx_str_set(&challenge, "Bearer");

        if (ngx_http_ws_security_add_header(r, "WWW-Authenticate",
                                            &challenge)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_DECLINED;
}


/*
 * Verifies a token (from the handshake or a refresh) and reads its
 * claims into res, allocated from pool: NGX_OK, or NGX_DECLINED after
 * logging why.
 */
ngx_int_t
ngx_http_ws_jwt_verify(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_ws_security_conf_t *wsscf, ngx_str_t *token,
    ngx_http_ws_jwt_result_t *res)
{
    const char  *why;
    ngx_str_t    payload;

    why = ngx_http_ws_jwt_verify_signature(pool, log, wsscf, token,
                                           &payload);

    if (why == NULL) {
        why = ngx_http_ws_jwt_check_claims(pool, wsscf, &payload, res);
    }

    if (why) {
        ngx_log_error(NGX_LOG_INFO, log, 0, "ws: JWT rejected: %s", why);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_jwt_find(ngx_http_request_t *r,
    ngx_http_ws_security_conf_t *wsscf, ngx_str_t *token)
{
    ngx_uint_t                  i;
    ngx_http_ws_jwt_source_t   *src;
    ngx_http_variable_value_t  *vv;

    src = wsscf->jwt_sources->elts;

    for (i = 0; i < wsscf->jwt_sources->nelts; i++) {

        switch (src[i].type) {

        case NGX_HTTP_WS_JWT_FROM_HEADER:
            if (ngx_http_ws_jwt_from_header(r, token) == NGX_OK) {
                return NGX_OK;
            }

            break;

        case NGX_HTTP_WS_JWT_FROM_ARG:
            if (ngx_http_arg(r, src[i].name.data, src[i].name.len, token)
                == NGX_OK && token->len)
            {
                return NGX_OK;
            }

            break;

        case NGX_HTTP_WS_JWT_FROM_COOKIE:
            vv = ngx_http_get_variable(r, &src[i].name, src[i].hash);

            if (vv && !vv->not_found && vv->len) {
                token->data = vv->data;
                token->len = vv->len;
                return NGX_OK;
            }

            break;

        default: /* NGX_HTTP_WS_JWT_FROM_PROTOCOL */
            if (ngx_http_ws_jwt_from_protocol(r, &src[i].name, token)
                == NGX_OK)
            {
                return NGX_OK;
            }

            break;
        }
    }

    return NGX_DECLINED;
}


/* Authorization: Bearer <token> (RFC 6750 section 2.1) */
static ngx_int_t
ngx_http_ws_jwt_from_header(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char           *p, *last;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL || h->value.len < sizeof("Bearer ") - 1
        || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ",
                           sizeof("Bearer ") - 1) != 0)
    {
        return NGX_DECLINED;
    }

    p = h->value.data + sizeof("Bearer ") - 1;
    last = h->value.data + h->value.len;

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    if (p == last) {
        return NGX_DECLINED;
    }

    token->data = p;
    token->len = last - p;

    return NGX_OK;
}


/*
 * Browsers cannot set headers on a WebSocket: the token may ride in
 * Sec-WebSocket-Protocol as "<prefix><token>". That entry is never
 * chosen as the subprotocol (it is not in ws_subprotocols).
 */
static ngx_int_t
ngx_http_ws_jwt_from_protocol(ngx_http_request_t *r, ngx_str_t *prefix,
    ngx_str_t *token)
{
    ngx_str_t                   element;
    ngx_http_ws_header_list_t   list;

    ngx_http_ws_header_list_init(&list, r, "Sec-WebSocket-Protocol");

    while (ngx_http_ws_header_list_next(&list, &element)) {
        if (element.len > prefix->len
            && ngx_strncmp(element.data, prefix->data, prefix->len) == 0)
        {
            token->data = element.data + prefix->len;
            token->len = element.len - prefix->len;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * Checks the form and the signature; on success *payload is the decoded
 * claims JSON (in the request pool). Returns NULL, or why not.
 */
static const char *
ngx_http_ws_jwt_verify_signature(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_ws_security_conf_t *wsscf, ngx_str_t *token, ngx_str_t *payload)
{
    int                     rc;
    u_char                 *p, *dot1, *dot2, *last, *copy;
    jwt_t                  *jwt;
    ngx_str_t               seg, header, signed_part, sig;
    size_t                  alg_len;
    u_char                  alg[8];
    ngx_uint_t              i, tried;
    wscore_claim_t          claim;
    ngx_http_ws_jwt_key_t  *key;

    if (token->len > NGX_HTTP_WS_JWT_MAX_LEN) {
        return "token too long";
    }

    last = token->data + token->len;
    dot1 = NULL;
    dot2 = NULL;

    /* base64url segments and exactly two dots (RFC 7515 section 7.1) */
    for (p = token->data; p < last; p++) {
        if (*p == '.') {
            if (dot1 == NULL) {
                dot1 = p;

            } else if (dot2 == NULL) {
                dot2 = p;

            } else {
                return "malformed token (more than three parts)";
            }

            continue;
        }

        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
        {
            return "malformed token (not base64url)";
        }
    }

    if (dot2 == NULL || dot1 == token->data || dot2 == dot1 + 1) {
        return "malformed token (not three parts)";
    }

    seg.data = token->data;
    seg.len = dot1 - token->data;

    header.data = ngx_pnalloc(pool, ngx_base64_decoded_length(seg.len));
    if (header.data == NULL) {
        return "out of memory";
    }

    if (ngx_decode_base64url(&header, &seg) != NGX_OK) {
        return "malformed token (bad header encoding)";
    }

    seg.data = dot1 + 1;
    seg.len = dot2 - dot1 - 1;

    payload->data = ngx_pnalloc(pool, ngx_base64_decoded_length(seg.len));
    if (payload->data == NULL) {
        return "out of memory";
    }

    if (ngx_decode_base64url(payload, &seg) != NGX_OK) {
        return "malformed token (bad payload encoding)";
    }

    if (wscore_claim_get((const char *) header.data, header.len, "alg", 3,
                         &claim)
        != 0)
    {
        return "malformed token (header is not a JSON object)";
    }

    if (claim.type != WSCORE_CLAIM_STRING) {
        return "malformed token (no \"alg\" in the header)";
    }

    /* the claim's text lives until the next claim call: keep a copy */
    alg_len = ngx_min(claim.text.len, sizeof(alg));
    ngx_memcpy(alg, claim.text.data, alg_len);

    /* the key decides the algorithm, never the token alone */
    key = wsscf->jwt_keys->elts;
    tried = 0;

    for (i = 0; i < wsscf->jwt_keys->nelts; i++) {
        if (ngx_strlen(key[i].alg->name) == claim.text.len
            && ngx_strncmp(key[i].alg->name, alg, alg_len) == 0)
        {
            break;
        }
    }

    if (i == wsscf->jwt_keys->nelts) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "ws: JWT algorithm \"%*s\" is not one of the keys'",
                      ngx_min(claim.text.len, 32), claim.text.data);
        return "algorithm not accepted";
    }

    /* claims are read after the signature check, but the form is known now */
    if (wscore_claim_get((const char *) payload->data, payload->len, "sub", 3,
                         &claim) != 0)
    {
        return "malformed token (payload is not a JSON object, or repeats "
               "a claim)";
    }

    {
        wscore_claim_t  crit;

        /* extensions we do not understand must not be ignored (7515 4.1.11) */
        if (wscore_claim_get((const char *) header.data, header.len, "crit",
                             4, &crit) != 0
            || crit.type != WSCORE_CLAIM_ABSENT)
        {
            return "token has critical header extensions";
        }
    }

    signed_part.data = token->data;
    signed_part.len = dot2 - token->data;

    seg.data = dot2 + 1;
    seg.len = last - dot2 - 1;

    /* libjwt wants a NUL-terminated token */
    copy = NULL;

    for ( /* void */ ; i < wsscf->jwt_keys->nelts; i++) {
        if (ngx_strlen(key[i].alg->name) != alg_len
            || ngx_strncmp(key[i].alg->name, alg, alg_len) != 0)
        {
            continue;
        }

        tried++;

        if (key[i].alg->jwt_alg == JWT_ALG_INVAL) {
            if (seg.len == 0) {
                return "bad signature";
            }

            sig.data = ngx_pnalloc(pool, ngx_base64_decoded_length(seg.len));
            if (sig.data == NULL) {
                return "out of memory";
            }

            if (ngx_decode_base64url(&sig, &seg) != NGX_OK) {
                return "malformed token (bad signature encoding)";
            }

            if (ngx_http_ws_jwt_eddsa(&key[i], &signed_part, &sig) == NGX_OK) {
                return NULL;
            }

            continue;
        }

        if (copy == NULL) {
            copy = ngx_pnalloc(pool, token->len + 1);
            if (copy == NULL) {
                return "out of memory";
            }

            ngx_memcpy(copy, token->data, token->len);
            copy[token->len] = '\0';
        }

        jwt = NULL;

        rc = jwt_decode(&jwt, (const char *) copy, key[i].data.data,
                        (int) key[i].data.len);

        if (rc == 0 && jwt_get_alg(jwt) == key[i].alg->jwt_alg) {
            jwt_free(jwt);
            return NULL;
        }

        if (jwt) {
            jwt_free(jwt);
        }
    }

    return tried ? "bad signature" : "algorithm not accepted";
}


static ngx_int_t
ngx_http_ws_jwt_eddsa(ngx_http_ws_jwt_key_t *key, ngx_str_t *signed_part,
    ngx_str_t *sig)
{
    int          ok;
    EVP_MD_CTX  *md;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    /* EdDSA hashes internally: no digest, one-shot verify (RFC 8037) */
    ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, key->pkey) == 1
         && EVP_DigestVerify(md, sig->data, sig->len, signed_part->data,
                             signed_part->len) == 1;

    EVP_MD_CTX_free(md);

    return ok ? NGX_OK : NGX_DECLINED;
}


typedef struct {
    ngx_str_t   *want;
    ngx_uint_t   found;
} ngx_http_ws_jwt_aud_t;


/* Returns NULL when the claims are acceptable now, else why not. */
static const char *
ngx_http_ws_jwt_check_claims(ngx_pool_t *pool,
    ngx_http_ws_security_conf_t *wsscf, ngx_str_t *payload,
    ngx_http_ws_jwt_result_t *res)
{
    long                    n;
    time_t                  now;
    wscore_claim_t          c;
    ngx_http_ws_jwt_aud_t   aud;

    now = ngx_time();

    if (wscore_claim_get((const char *) payload->data, payload->len, "exp", 3,
                         &c) != 0)
    {
        return "malformed token (payload is not a JSON object, or repeats "
               "a claim)";
    }

    res->exp = 0;

    if (c.type != WSCORE_CLAIM_ABSENT) {
        if (c.type != WSCORE_CLAIM_NUMBER || c.number < 0) {
            return "\"exp\" is not a NumericDate";
        }

        /* expired when now is at or after exp (RFC 7519 section 4.1.4) */
        if ((double) now >= c.number + (double) wsscf->jwt_leeway) {
            return "token expired";
        }

        res->exp = (c.number > 1e12) ? (time_t) 1e12 : (time_t) c.number;
    }

    if (wscore_claim_get((const char *) payload->data, payload->len, "nbf", 3,
                         &c) != 0)
    {
        return "malformed token (payload is not a JSON object, or repeats "
               "a claim)";
    }

    if (c.type != WSCORE_CLAIM_ABSENT) {
        if (c.type != WSCORE_CLAIM_NUMBER) {
            return "\"nbf\" is not a NumericDate";
        }

        if ((double) now + (double) wsscf->jwt_leeway < c.number) {
            return "token not valid yet (nbf)";
        }
    }

    if (wsscf->jwt_issuer.len) {
        if (wscore_claim_get((const char *) payload->data, payload->len,
                             "iss", 3, &c) != 0
            || c.type != WSCORE_CLAIM_STRING
            || c.text.len != wsscf->jwt_issuer.len
            || ngx_strncmp(c.text.data, wsscf->jwt_issuer.data,
                           c.text.len) != 0)
        {
            return "wrong or missing issuer (iss)";
        }
    }

    if (wsscf->jwt_audience.len) {
        aud.want = &wsscf->jwt_audience;
        aud.found = 0;

        n = wscore_claim_strings((const char *) payload->data, payload->len,
                                 "aud", 3, ngx_http_ws_jwt_aud_visit, &aud);

        if (n <= 0 || !aud.found) {
            return "wrong or missing audience (aud)";
        }
    }

    if (wscore_claim_get((const char *) payload->data, payload->len, "sub", 3,
                         &c) != 0)
    {
        return "malformed token (payload is not a JSON object, or repeats "
               "a claim)";
    }

    res->user.len = 0;

    if (c.type != WSCORE_CLAIM_ABSENT) {
        if (c.type != WSCORE_CLAIM_STRING || c.text.len == 0
            || c.text.len > NGX_HTTP_WS_MAX_CHANNEL_LEN - 5)
        {
            return "\"sub\" is not a string of 1-250 bytes";
        }

        res->user.data = ngx_pnalloc(pool, c.text.len);
        if (res->user.data == NULL) {
            return "out of memory";
        }

        ngx_memcpy(res->user.data, c.text.data, c.text.len);
        res->user.len = c.text.len;
    }

    res->claims = *payload;

    return NULL;
}


static void
ngx_http_ws_jwt_aud_visit(void *ctx, const char *s, size_t len)
{
    ngx_http_ws_jwt_aud_t  *aud = ctx;

    if (len == aud->want->len
        && ngx_strncmp(s, aud->want->data, len) == 0)
    {
        aud->found = 1;
    }
}


static void
ngx_http_ws_jwt_free_key(void *data)
{
    EVP_PKEY_free(data);
}
