
/*
 * ngx_ws: a table of entries by key in a shared memory zone (the bans of
 * ws_ban, the shared buckets and connection counts of the limits).
 *
 * Entries are found by key in an rbtree. Those the caller lets forget
 * ("forgettable") also stand in a least recently used list: each new
 * entry first forgets a few of the oldest that the caller's policy finds
 * expired, and when the zone has no room the oldest go whatever they
 * hold, so such a table never fills the zone for good. The others (a
 * connection count, which must not be lost while the connection lives)
 * stay until the caller deletes them.
 */


#include "ngx_http_ws_keyed_table.h"


static ngx_http_ws_keyed_entry_t *ngx_http_ws_keyed_add(
    ngx_slab_pool_t *shpool, ngx_http_ws_keyed_table_t *table,
    const ngx_http_ws_keyed_policy_t *policy, u_char *key, size_t len,
    ngx_uint_t forgettable);
static void ngx_http_ws_keyed_forget(ngx_slab_pool_t *shpool,
    ngx_http_ws_keyed_table_t *table, const ngx_http_ws_keyed_policy_t *policy,
    ngx_uint_t n, ngx_uint_t force);


ngx_http_ws_keyed_table_t *
ngx_http_ws_keyed_table(ngx_slab_pool_t *shpool,
    ngx_http_ws_keyed_table_t **root)
{
    ngx_http_ws_keyed_table_t  *table;

    table = *root;

    if (table) {
        return table;
    }

    table = ngx_slab_calloc_locked(shpool, sizeof(ngx_http_ws_keyed_table_t));
    if (table == NULL) {
        return NULL;
    }

    ngx_rbtree_init(&table->rbtree, &table->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&table->lru);

    *root = table;

    return table;
}


ngx_http_ws_keyed_entry_t *
ngx_http_ws_keyed_find(ngx_http_ws_keyed_table_t *table, u_char *key,
    size_t len)
{
    ngx_str_t  name;

    name.data = key;
    name.len = len;

    return (ngx_http_ws_keyed_entry_t *)
               ngx_str_rbtree_lookup(&table->rbtree, &name,
                                     ngx_crc32_short(key, len));
}


ngx_http_ws_keyed_entry_t *
ngx_http_ws_keyed_get(ngx_slab_pool_t *shpool,
    ngx_http_ws_keyed_table_t *table, const ngx_http_ws_keyed_policy_t *policy,
    u_char *key, size_t len, ngx_uint_t forgettable)
{
    ngx_http_ws_keyed_entry_t  *entry;

    entry = ngx_http_ws_keyed_find(table, key, len);

    if (entry == NULL) {
        return ngx_http_ws_keyed_add(shpool, table, policy, key, len,
                                     forgettable);
    }

    /* an entry linked to itself is not forgettable: not in the list */
    if (entry->lru.next != &entry->lru) {
        ngx_queue_remove(&entry->lru);
        ngx_queue_insert_head(&table->lru, &entry->lru);
    }

    return entry;
}


void
ngx_http_ws_keyed_delete(ngx_slab_pool_t *shpool,
    ngx_http_ws_keyed_table_t *table, ngx_http_ws_keyed_entry_t *entry)
{
    /* an entry that is not forgettable is linked to itself: a no-op */
    ngx_queue_remove(&entry->lru);

    ngx_rbtree_delete(&table->rbtree, &entry->sn.node);
    ngx_slab_free_locked(shpool, entry);
}


static ngx_http_ws_keyed_entry_t *
ngx_http_ws_keyed_add(ngx_slab_pool_t *shpool,
    ngx_http_ws_keyed_table_t *table, const ngx_http_ws_keyed_policy_t *policy,
    u_char *key, size_t len, ngx_uint_t forgettable)
{
    ngx_http_ws_keyed_entry_t  *entry;

    ngx_http_ws_keyed_forget(shpool, table, policy, policy->expire, 0);

    entry = ngx_slab_calloc_locked(shpool, policy->key_offset + len);

    if (entry == NULL) {
        ngx_http_ws_keyed_forget(shpool, table, policy, policy->evict, 1);

        entry = ngx_slab_calloc_locked(shpool, policy->key_offset + len);
        if (entry == NULL) {
            return NULL;
        }
    }

    entry->sn.str.data = (u_char *) entry + policy->key_offset;
    entry->sn.str.len = len;
    entry->sn.node.key = ngx_crc32_short(key, len);

    ngx_memcpy(entry->sn.str.data, key, len);

    ngx_rbtree_insert(&table->rbtree, &entry->sn.node);

    if (forgettable) {
        ngx_queue_insert_head(&table->lru, &entry->lru);

    } else {
        ngx_queue_init(&entry->lru);
    }

    return entry;
}


/*
 * Up to n of the least recently used entries forgotten, oldest first:
 * while the policy finds them expired, or any (force).
 */
static void
ngx_http_ws_keyed_forget(ngx_slab_pool_t *shpool,
    ngx_http_ws_keyed_table_t *table, const ngx_http_ws_keyed_policy_t *policy,
    ngx_uint_t n, ngx_uint_t force)
{
    ngx_queue_t                *q;
    ngx_http_ws_keyed_entry_t  *entry;

    while (n-- && !ngx_queue_empty(&table->lru)) {
        q = ngx_queue_last(&table->lru);
        entry = ngx_queue_data(q, ngx_http_ws_keyed_entry_t, lru);

        if (!force && !policy->expired(entry)) {
            return;
        }

        ngx_http_ws_keyed_delete(shpool, table, entry);
    }
}
