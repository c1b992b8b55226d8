
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
 *
 * The token's form (compact serialization, base64url, "alg" and "crit")
 * and the claim policy (exp, nbf, iss, aud, sub) are the core's rules
 * (wscore_jwt_*): this file finds the token, holds the keys and computes
 * signatures.
 */


#include "ngx_http_ws_jwt.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_header_list.h"
#include "ngx_http_ws_response.h"
#include "ngx_http_ws_session.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>


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


static ngx_http_ws_jwt_alg_t *ngx_http_ws_jwt_alg_find(ngx_str_t *name);
static u_char *ngx_http_ws_jwt_key_read(ngx_conf_t *cf, ngx_str_t *file,
    size_t *len);
static char *ngx_http_ws_jwt_key_secret(ngx_conf_t *cf,
    ngx_http_ws_jwt_key_t *key, ngx_str_t *file);
static char *ngx_http_ws_jwt_key_public(ngx_conf_t *cf,
    ngx_http_ws_jwt_key_t *key, ngx_str_t *file);
static ngx_int_t ngx_http_ws_jwt_find(ngx_http_request_t *r,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *token);
static ngx_int_t ngx_http_ws_jwt_from_header(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_ws_jwt_from_protocol(ngx_http_request_t *r,
    ngx_str_t *prefix, ngx_str_t *token);
static const char *ngx_http_ws_jwt_verify_signature(ngx_pool_t *pool,
    ngx_log_t *log, ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *token,
    wscore_jwt_parts_t *parts);
static ngx_uint_t ngx_http_ws_jwt_key_is_for(ngx_http_ws_jwt_key_t *key,
    wscore_str_t *alg);
static ngx_int_t ngx_http_ws_jwt_libjwt(ngx_http_ws_jwt_key_t *key,
    u_char *token);
static ngx_int_t ngx_http_ws_jwt_eddsa(ngx_http_ws_jwt_key_t *key,
    wscore_jwt_parts_t *parts);
static const char *ngx_http_ws_jwt_check_claims(ngx_pool_t *pool,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *payload,
    ngx_http_ws_jwt_result_t *res);
static void ngx_http_ws_jwt_free_key(void *data);
static void ngx_http_ws_jwt_reader_free(void *data);


/* The worker's token reader (the core's parser and buffers), made once. */
static wscore_jwt_reader_t  *ngx_http_ws_jwt_reader_handle;

char *
ngx_http_ws_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    size_t                   len;
    ngx_str_t               *value, file;
    ngx_http_ws_jwt_alg_t   *alg;
    ngx_http_ws_jwt_key_t   *key;
    ngx_http_ws_jwt_conf_t  *jwcf;

    jwcf = (ngx_http_ws_jwt_conf_t *) ((char *) conf + cmd->offset);

    value = cf->args->elts;

    alg = ngx_http_ws_jwt_alg_find(&value[1]);

    if (alg == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown algorithm \"%V\" in \"ws_auth_jwt_key\", "
                           "it must be one of HS256, HS384, HS512, RS256, "
                           "RS384, RS512, ES256, ES384, ES512, EdDSA",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (jwcf->keys == NGX_CONF_UNSET_PTR) {
        jwcf->keys = ngx_array_create(cf->pool, 2,
                                           sizeof(ngx_http_ws_jwt_key_t));
        if (jwcf->keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    key = ngx_array_push(jwcf->keys);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(key, sizeof(ngx_http_ws_jwt_key_t));
    key->alg = alg;

    file = value[2];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    key->data.data = ngx_http_ws_jwt_key_read(cf, &file, &len);
    if (key->data.data == NULL) {
        return NGX_CONF_ERROR;
    }

    key->data.len = len;

    if (alg->pkey_type == 0) {
        return ngx_http_ws_jwt_key_secret(cf, key, &file);
    }

    return ngx_http_ws_jwt_key_public(cf, key, &file);
}


static ngx_http_ws_jwt_alg_t *
ngx_http_ws_jwt_alg_find(ngx_str_t *name)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_ws_jwt_algs[i].name; i++) {
        if (ngx_strcmp(name->data, ngx_http_ws_jwt_algs[i].name) == 0) {
            return &ngx_http_ws_jwt_algs[i];
        }
    }

    return NULL;
}


/* The whole key file, NUL-terminated, in the configuration pool. */
static u_char *
ngx_http_ws_jwt_key_read(ngx_conf_t *cf, ngx_str_t *file, size_t *len)
{
    u_char           *data;
    ngx_file_t        f;
    ngx_file_info_t   fi;

    ngx_memzero(&f, sizeof(ngx_file_t));
    f.name = *file;
    f.log = cf->log;

    f.fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (f.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"ws_auth_jwt_key\" cannot open \"%V\"", file);
        return NULL;
    }

    if (ngx_fd_info(f.fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 64 * 1024)
    {
        ngx_close_file(f.fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" file \"%V\" is not a key "
                           "file (unreadable or over 64k)", file);
        return NULL;
    }

    *len = (size_t) ngx_file_size(&fi);

    data = ngx_pnalloc(cf->pool, *len + 1);
    if (data == NULL) {
        ngx_close_file(f.fd);
        return NULL;
    }

    if (ngx_read_file(&f, data, *len, 0) != (ssize_t) *len) {
        ngx_close_file(f.fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" cannot read \"%V\"", file);
        return NULL;
    }

    ngx_close_file(f.fd);

    data[*len] = '\0';

    return data;
}


/* A shared secret: the file's bytes, less one trailing newline. */
static char *
ngx_http_ws_jwt_key_secret(ngx_conf_t *cf, ngx_http_ws_jwt_key_t *key,
    ngx_str_t *file)
{
    if (key->data.len && key->data.data[key->data.len - 1] == '\n') {
        key->data.len--;
    }

    /* RFC 7518 section 3.2: at least as long as the hash output */
    if (key->data.len * 8 < key->alg->min_bits) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" %s secret in \"%V\" is "
                           "%uz bytes, RFC 7518 requires at least %uz",
                           key->alg->name, file, key->data.len,
                           key->alg->min_bits / 8);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* A PEM public key of the algorithm's type, size and curve. */
static char *
ngx_http_ws_jwt_key_public(ngx_conf_t *cf, ngx_http_ws_jwt_key_t *key,
    ngx_str_t *file)
{
    int                     bits;
    BIO                    *bio;
    char                    group[64];
    EVP_PKEY               *pkey;
    ngx_pool_cleanup_t     *cln;
    ngx_http_ws_jwt_alg_t  *alg;

    alg = key->alg;

    bio = BIO_new_mem_buf(key->data.data, (int) key->data.len);
    if (bio == NULL) {
        return NGX_CONF_ERROR;
    }

    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (pkey == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" %s needs a PEM public key "
                           "(\"-----BEGIN PUBLIC KEY-----\"), \"%V\" is not "
                           "one", alg->name, file);
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
                           "%s key, not %s", alg->name, file,
                           OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)),
                           OBJ_nid2sn(alg->pkey_type));
        return NGX_CONF_ERROR;
    }

    bits = EVP_PKEY_get_bits(pkey);

    if (alg->pkey_type == EVP_PKEY_RSA && (size_t) bits < alg->min_bits) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" %s: the RSA key in \"%V\" "
                           "has %d bits, RFC 7518 requires at least 2048",
                           alg->name, file, bits);
        return NGX_CONF_ERROR;
    }

    if (alg->curve
        && (EVP_PKEY_get_utf8_string_param(pkey, "group", group,
                                           sizeof(group), NULL) != 1
            || ngx_strcmp(group, alg->curve) != 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt_key\" %s needs a key on curve "
                           "%s, the one in \"%V\" is not", alg->name,
                           alg->curve, file);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* ws_auth_jwt_token header arg=token cookie=jwt protocol=bearer. ...; */
char *
ngx_http_ws_jwt_token(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                    *p;
    ngx_str_t                 *value;
    ngx_uint_t                 i;
    ngx_http_ws_jwt_conf_t    *jwcf;
    ngx_http_ws_jwt_source_t  *src;

    jwcf = (ngx_http_ws_jwt_conf_t *) ((char *) conf + cmd->offset);

    if (jwcf->sources != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    jwcf->sources = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                          sizeof(ngx_http_ws_jwt_source_t));
    if (jwcf->sources == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        src = ngx_array_push(jwcf->sources);
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


void
ngx_http_ws_jwt_conf_init(ngx_http_ws_jwt_conf_t *jwcf)
{
    jwcf->on = NGX_CONF_UNSET;
    jwcf->keys = NGX_CONF_UNSET_PTR;
    jwcf->sources = NGX_CONF_UNSET_PTR;
    jwcf->leeway = NGX_CONF_UNSET;
    jwcf->user_channel = NGX_CONF_UNSET;
    jwcf->first_message = NGX_CONF_UNSET;
    jwcf->timeout = NGX_CONF_UNSET_MSEC;
}


char *
ngx_http_ws_jwt_merge(ngx_conf_t *cf, ngx_http_ws_jwt_conf_t *prev,
    ngx_http_ws_jwt_conf_t *conf)
{
    ngx_http_ws_loc_conf_t    *wscf;
    ngx_http_ws_jwt_source_t  *src;

    ngx_conf_merge_value(conf->on, prev->on, 0);
    ngx_conf_merge_ptr_value(conf->keys, prev->keys, NULL);
    ngx_conf_merge_ptr_value(conf->sources, prev->sources, NULL);
    ngx_conf_merge_str_value(conf->issuer, prev->issuer, "");
    ngx_conf_merge_str_value(conf->audience, prev->audience, "");
    ngx_conf_merge_str_value(conf->channels_claim,
                             prev->channels_claim, "");
    ngx_conf_merge_value(conf->first_message, prev->first_message,
                         0);
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 10000);

    if (conf->first_message && !conf->on) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_first_message on\" needs "
                           "\"ws_auth_jwt on\"");
        return NGX_CONF_ERROR;
    }

    if (conf->first_message) {
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
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 0);
    ngx_conf_merge_value(conf->user_channel, prev->user_channel, 1);

    if (!conf->on) {
        return NGX_CONF_OK;
    }

    if (conf->keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_auth_jwt on\" needs at least one "
                           "\"ws_auth_jwt_key\"");
        return NGX_CONF_ERROR;
    }

    if (conf->sources == NULL) {
        conf->sources = ngx_array_create(cf->pool, 1,
                                             sizeof(ngx_http_ws_jwt_source_t));
        if (conf->sources == NULL) {
            return NGX_CONF_ERROR;
        }

        src = ngx_array_push(conf->sources);
        if (src == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(src, sizeof(ngx_http_ws_jwt_source_t));
        src->type = NGX_HTTP_WS_JWT_FROM_HEADER;
    }

    return NGX_CONF_OK;
}


/*
 * NGX_OK (no auth configured, or a good token: res filled), NGX_AGAIN
 * (no token, and ws_auth_first_message waits for it), NGX_DECLINED
 * (refusal filled), NGX_ERROR.
 */
ngx_int_t
ngx_http_ws_jwt_check(ngx_http_request_t *r,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_http_ws_jwt_result_t *res,
    ngx_http_ws_refusal_t *refusal)
{
    ngx_str_t  token;

    if (!jwcf->on) {
        return NGX_OK;
    }

    if (ngx_http_ws_jwt_find(r, jwcf, &token) != NGX_OK) {
        if (jwcf->first_message) {
            /* ngx_http_ws_auth_session.c takes it from the first message */
            return NGX_AGAIN;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws: JWT rejected: no token in the request");
        goto refused;
    }

    if (ngx_http_ws_jwt_verify(r->pool, r->connection->log, jwcf, &token,
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

        if (ngx_http_ws_response_add_header(r, "WWW-Authenticate",
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
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *token,
    ngx_http_ws_jwt_result_t *res)
{
    const char          *why;
    ngx_str_t            payload;
    wscore_jwt_parts_t   parts;

    why = ngx_http_ws_jwt_verify_signature(pool, log, jwcf, token, &parts);

    if (why == NULL) {
        /* the claims outlive the reader's next token: the request's copy */
        payload.len = parts.payload.len;
        payload.data = ngx_pnalloc(pool, payload.len);

        if (payload.data == NULL) {
            why = "out of memory";

        } else {
            ngx_memcpy(payload.data, parts.payload.data, payload.len);
            why = ngx_http_ws_jwt_check_claims(pool, jwcf, &payload, res);
        }
    }

    if (why) {
        ngx_log_error(NGX_LOG_INFO, log, 0, "ws: JWT rejected: %s", why);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_ws_jwt_find(ngx_http_request_t *r,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *token)
{
    ngx_uint_t                  i;
    ngx_http_ws_jwt_source_t   *src;
    ngx_http_variable_value_t  *vv;

    src = jwcf->sources->elts;

    for (i = 0; i < jwcf->sources->nelts; i++) {

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
 * The worker's token reader, made on first use and freed with the cycle;
 * NULL when out of memory. Also read by the claim variables and the
 * channel ACL.
 */
wscore_jwt_reader_t *
ngx_http_ws_jwt_reader(void)
{
    ngx_pool_cleanup_t  *cln;

    if (ngx_http_ws_jwt_reader_handle) {
        return ngx_http_ws_jwt_reader_handle;
    }

    cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    ngx_http_ws_jwt_reader_handle = wscore_jwt_reader_create();

    cln->handler = ngx_http_ws_jwt_reader_free;
    cln->data = ngx_http_ws_jwt_reader_handle;

    return ngx_http_ws_jwt_reader_handle;
}


static void
ngx_http_ws_jwt_reader_free(void *data)
{
    wscore_jwt_reader_destroy(data);

    if (ngx_http_ws_jwt_reader_handle == data) {
        ngx_http_ws_jwt_reader_handle = NULL;
    }
}


/*
 * Checks the form (the core) and the signature with each key of the
 * token's algorithm; on success parts holds the token's decoded parts
 * until the reader's next call. Returns NULL, or why not.
 */
static const char *
ngx_http_ws_jwt_verify_signature(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *token,
    wscore_jwt_parts_t *parts)
{
    u_char                 *copy;
    ngx_int_t               rc;
    ngx_uint_t              i, tried;
    const char             *why;
    wscore_jwt_reader_t    *reader;
    ngx_http_ws_jwt_key_t  *key;

    reader = ngx_http_ws_jwt_reader();
    if (reader == NULL) {
        return "out of memory";
    }

    if (wscore_jwt_parse(reader, (const char *) token->data, token->len,
                         parts, &why)
        != WSCORE_OK)
    {
        return why;
    }

    /* the key decides the algorithm, never the token alone */
    key = jwcf->keys->elts;
    copy = NULL;
    tried = 0;

    for (i = 0; i < jwcf->keys->nelts; i++) {
        if (!ngx_http_ws_jwt_key_is_for(&key[i], &parts->alg)) {
            continue;
        }

        tried++;

        if (key[i].alg->jwt_alg == JWT_ALG_INVAL) {
            rc = ngx_http_ws_jwt_eddsa(&key[i], parts);

        } else {
            if (copy == NULL) {
                /* libjwt wants a NUL-terminated token */
                copy = ngx_pnalloc(pool, token->len + 1);
                if (copy == NULL) {
                    return "out of memory";
                }

                ngx_memcpy(copy, token->data, token->len);
                copy[token->len] = '\0';
            }

            rc = ngx_http_ws_jwt_libjwt(&key[i], copy);
        }

        if (rc == NGX_OK) {
            return NULL;
        }
    }

    if (tried == 0) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "ws: JWT algorithm \"%*s\" is not one of the keys'",
                      ngx_min(parts->alg.len, 32), parts->alg.data);
        return "algorithm not accepted";
    }

    return "bad signature";
}


static ngx_uint_t
ngx_http_ws_jwt_key_is_for(ngx_http_ws_jwt_key_t *key, wscore_str_t *alg)
{
    return ngx_strlen(key->alg->name) == alg->len
           && ngx_strncmp(key->alg->name, alg->data, alg->len) == 0;
}


static ngx_int_t
ngx_http_ws_jwt_libjwt(ngx_http_ws_jwt_key_t *key, u_char *token)
{
    int     rc;
    jwt_t  *jwt;

    jwt = NULL;

    rc = jwt_decode(&jwt, (const char *) token, key->data.data,
                    (int) key->data.len);

    if (rc == 0 && jwt_get_alg(jwt) == key->alg->jwt_alg) {
        jwt_free(jwt);
        return NGX_OK;
    }

    if (jwt) {
        jwt_free(jwt);
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_ws_jwt_eddsa(ngx_http_ws_jwt_key_t *key, wscore_jwt_parts_t *parts)
{
    int          ok;
    EVP_MD_CTX  *md;

    if (parts->signature.len == 0) {
        return NGX_DECLINED;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    /* EdDSA hashes internally: no digest, one-shot verify (RFC 8037) */
    ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, key->pkey) == 1
         && EVP_DigestVerify(md, (const u_char *) parts->signature.data,
                             parts->signature.len,
                             (const u_char *) parts->signing_input.data,
                             parts->signing_input.len) == 1;

    EVP_MD_CTX_free(md);

    return ok ? NGX_OK : NGX_DECLINED;
}


/* Returns NULL when the claims are acceptable now, else why not. */
static const char *
ngx_http_ws_jwt_check_claims(ngx_pool_t *pool,
    ngx_http_ws_jwt_conf_t *jwcf, ngx_str_t *payload,
    ngx_http_ws_jwt_result_t *res)
{
    const char           *why;
    wscore_jwt_claims_t   claims;
    wscore_jwt_policy_t   policy;

    policy.issuer.data = (const char *) jwcf->issuer.data;
    policy.issuer.len = jwcf->issuer.len;
    policy.audience.data = (const char *) jwcf->audience.data;
    policy.audience.len = jwcf->audience.len;
    policy.leeway_s = (uint64_t) jwcf->leeway;

    if (wscore_jwt_check_claims(ngx_http_ws_jwt_reader(), &policy,
                                (const char *) payload->data, payload->len,
                                (int64_t) ngx_time(), &claims, &why)
        != WSCORE_OK)
    {
        return why;
    }

    res->exp = (time_t) claims.exp;
    res->user.len = 0;

    if (claims.sub.data) {
        res->user.data = ngx_pnalloc(pool, claims.sub.len);
        if (res->user.data == NULL) {
            return "out of memory";
        }

        ngx_memcpy(res->user.data, claims.sub.data, claims.sub.len);
        res->user.len = claims.sub.len;
    }

    res->claims = *payload;

    return NULL;
}


static void
ngx_http_ws_jwt_free_key(void *data)
{
    EVP_PKEY_free(data);
}
