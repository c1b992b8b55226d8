
/*
 * ngx_ws: a WebSocket listener for NGINX.
 *
 * NGX_HTTP_WS_HOT marks the functions every message runs through, as GCC
 * reads it at -O2: they go to .text.hot, which the linker lays out in one
 * stretch, so the per-message code spans a few pages instead of one or two
 * per file. Where the kernel isolates page tables (PTI) and the CPU offers
 * no PCID, as in many VMs (this project's test machines among them), every
 * system call empties the TLB and each page touched after recv() or send()
 * returns costs a page walk; elsewhere it still spares the TLB when there
 * are many connections.
 */


#ifndef _NGX_HTTP_WS_HOT_H_INCLUDED_
#define _NGX_HTTP_WS_HOT_H_INCLUDED_


#define NGX_HTTP_WS_HOT  __attribute__((hot))


#endif /* _NGX_HTTP_WS_HOT_H_INCLUDED_ */
