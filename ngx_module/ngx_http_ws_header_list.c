
/*
 * ngx_ws: the occurrences of a request header in the order they came
 * (NGINX keeps repeated headers as separate list entries), and the
 * elements of a list-valued header such as Sec-WebSocket-Protocol over
 * all its occurrences (a header repeated is one list: RFC 9110 sections
 * 5.3 and 5.6.1).
 */


#include "ngx_http_ws_header_list.h"


void
ngx_http_ws_header_list_init(ngx_http_ws_header_list_t *list,
    ngx_http_request_t *r, const char *name)
{
    list->part = &r->headers_in.headers.part;
    list->i = 0;
    list->p = NULL;
    list->last = NULL;
    list->name.data = (u_char *) name;
    list->name.len = ngx_strlen(name);
}


/* The next occurrence of the header, NULL after the last one. */
ngx_table_elt_t *
ngx_http_ws_header_list_next_header(ngx_http_ws_header_list_t *list)
{
    ngx_table_elt_t  *h;

    for ( ;; ) {
        if (list->i >= list->part->nelts) {
            if (list->part->next == NULL) {
                return NULL;
            }

            list->part = list->part->next;
            list->i = 0;
            continue;
        }

        h = list->part->elts;
        h = &h[list->i++];

        if (h->key.len == list->name.len
            && ngx_strncasecmp(h->key.data, list->name.data,
                               list->name.len) == 0)
        {
            return h;
        }
    }
}


/*
 * The next element, without the whitespace around it; empty elements
 * ("a, ,b") are skipped. Returns 0 after the last one.
 */
ngx_uint_t
ngx_http_ws_header_list_next(ngx_http_ws_header_list_t *list,
    ngx_str_t *element)
{
    u_char           *start, *end;
    ngx_table_elt_t  *h;

    for ( ;; ) {

        while (list->p < list->last) {
            while (list->p < list->last
                   && (*list->p == ' ' || *list->p == '\t'
                       || *list->p == ','))
            {
                list->p++;
            }

            start = list->p;

            while (list->p < list->last && *list->p != ',') {
                list->p++;
            }

            end = list->p;

            while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }

            if (end > start) {
                element->data = start;
                element->len = end - start;
                return 1;
            }
        }

        h = ngx_http_ws_header_list_next_header(list);

        if (h == NULL) {
            return 0;
        }

        list->p = h->value.data;
        list->last = h->value.data + h->value.len;
    }
}
