
/*
 * ngx_ws: a table of entries by key in a shared memory zone, with a
 * least recently used list that forgets them by a policy of the caller's
 * (ngx_http_ws_keyed_table.c).
 */


#ifndef _NGX_HTTP_WS_KEYED_TABLE_H_INCLUDED_
#define _NGX_HTTP_WS_KEYED_TABLE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    ngx_rbtree_t               rbtree;
    ngx_rbtree_node_t          sentinel;
    ngx_queue_t                lru;           /* newest first */
} ngx_http_ws_keyed_table_t;


/* The head of every entry; the caller's fields follow, the key last. */
typedef struct {
    ngx_str_node_t             sn;            /* the key and its crc32 */
    ngx_queue_t                lru;           /* to itself: never forgotten */
} ngx_http_ws_keyed_entry_t;


/*
 * What a user of a table decides: key_offset, offsetof() the key in its
 * entry (an entry is that many bytes plus the key's); expired(), 1 if a
 * forgettable entry holds nothing worth keeping any more; expire, at most
 * how many expired entries a new entry forgets (bounded work under the
 * zone's lock); evict, at most how many of the least recently used go,
 * expired or not, when the zone has no room for a new entry.
 */
typedef struct {
    size_t                     key_offset;
    ngx_uint_t               (*expired)(ngx_http_ws_keyed_entry_t *entry);
    ngx_uint_t                 expire;
    ngx_uint_t                 evict;
} ngx_http_ws_keyed_policy_t;


/*
 * All of these are called with the zone's lock held. The table's root is
 * made in the zone at first use and kept in *root; NULL if the zone is
 * full.
 */
ngx_http_ws_keyed_table_t *ngx_http_ws_keyed_table(ngx_slab_pool_t *shpool,
    ngx_http_ws_keyed_table_t **root);
ngx_http_ws_keyed_entry_t *ngx_http_ws_keyed_find(
    ngx_http_ws_keyed_table_t *table, u_char *key, size_t len);
/*
 * The entry of a key, now the last to be forgotten if it is forgettable;
 * else a new one, zeroed but for its key, that joins the least recently
 * used list if forgettable, or stays until deleted. NULL if the zone has
 * no room even after the policy's evictions.
 */
ngx_http_ws_keyed_entry_t *ngx_http_ws_keyed_get(ngx_slab_pool_t *shpool,
    ngx_http_ws_keyed_table_t *table, const ngx_http_ws_keyed_policy_t *policy,
    u_char *key, size_t len, ngx_uint_t forgettable);
void ngx_http_ws_keyed_delete(ngx_slab_pool_t *shpool,
    ngx_http_ws_keyed_table_t *table, ngx_http_ws_keyed_entry_t *entry);


#endif /* _NGX_HTTP_WS_KEYED_TABLE_H_INCLUDED_ */
