
/*
 * ngx_ws: directives, configuration and the module definition.
 *
 * A location with "ws_listen" answers WebSocket upgrades; the tunables
 * below may be set at http, server or location level and are inherited.
 */


#include "ngx_http_ws_block_cache.h"
#include "ngx_http_ws_capacity.h"
#include "ngx_http_ws_channels.h"
#include "ngx_http_ws_common.h"
#include "ngx_http_ws_conf.h"
#include "ngx_http_ws_control.h"
#include "ngx_http_ws_deflate.h"
#include "ngx_http_ws_echo.h"
#include "ngx_http_ws_handshake.h"
#include "ngx_http_ws_health.h"
#include "ngx_http_ws_history.h"
#include "ngx_http_ws_ipc.h"
#include "ngx_http_ws_metrics.h"
#include "ngx_http_ws_output.h"
#include "ngx_http_ws_publisher.h"
#include "ngx_http_ws_session.h"
#include "ngx_http_ws_status.h"
#include "ngx_http_ws_uring.h"
#include "ngx_http_ws_variables.h"
#include "ngx_http_ws_zone.h"


static void *ngx_http_ws_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_ws_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_ws_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_ws_listen(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ws_fallback(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ws_check_send_buffer(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_ws_subscribe(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ws_publish(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ws_publisher(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_ws_channels_used(ngx_conf_t *cf);
static ngx_int_t ngx_http_ws_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_ws_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_ws_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_ws_init_process(ngx_cycle_t *cycle);
static void ngx_http_ws_exit_process(ngx_cycle_t *cycle);


static char *ngx_http_ws_protocol(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_ws_channels_allow(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_conf_enum_t  ngx_http_ws_slow_consumers[] = {
    { ngx_string("close"), NGX_HTTP_WS_SLOW_CONSUMER_CLOSE },
    { ngx_string("drop"), NGX_HTTP_WS_SLOW_CONSUMER_DROP },
    { ngx_null_string, 0 }
};

static ngx_conf_enum_t  ngx_http_ws_protocols[] = {
    { ngx_string("raw"), NGX_HTTP_WS_PROTOCOL_RAW },
    { ngx_string("json"), NGX_HTTP_WS_PROTOCOL_JSON },
    { ngx_null_string, 0 }
};


/* for the checks at merge, which name the line of the directive */
static ngx_http_ws_conf_here_t  ngx_http_ws_deflate_here =
    ngx_http_ws_conf_here_post(ngx_http_ws_loc_conf_t, deflate,
                               deflate_where);

static ngx_http_ws_conf_here_t  ngx_http_ws_max_frame_size_here =
    ngx_http_ws_conf_here_post(ngx_http_ws_loc_conf_t, max_frame_size,
                               max_frame_size_where);

/* zlib's raw deflate cannot compress with a 256-byte (8-bit) window */
static ngx_http_ws_conf_bounds_t  ngx_http_ws_server_window_bounds =
    { ngx_http_ws_conf_check_bounds, 9, 15 };

static ngx_http_ws_conf_bounds_t  ngx_http_ws_client_window_bounds =
    { ngx_http_ws_conf_check_bounds, 8, 15 };

static ngx_http_ws_conf_bounds_t  ngx_http_ws_deflate_level_bounds =
    { ngx_http_ws_conf_check_bounds, 1, 9 };

static ngx_http_ws_conf_bounds_t  ngx_http_ws_mem_level_bounds =
    { ngx_http_ws_conf_check_bounds, 1, 9 };


/* Below this a single control frame could not be queued. */
#define NGX_HTTP_WS_MIN_SEND_BUFFER  4096



static ngx_http_ws_conf_bounds_t  ngx_http_ws_ping_max_missed_bounds =
    { ngx_http_ws_conf_check_bounds, 1, 1000 };

static ngx_http_ws_conf_bounds_t  ngx_http_ws_max_subscriptions_bounds =
    { ngx_http_ws_conf_check_bounds, 1, 1024 };


static ngx_conf_post_handler_pt  ngx_http_ws_send_buffer_post =
    ngx_http_ws_check_send_buffer;


static ngx_command_t  ngx_http_ws_commands[] = {

    { ngx_string("ws_listen"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_ws_listen,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_echo"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, echo),
      NULL },

    { ngx_string("ws_max_message_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, max_message_size),
      NULL },

    { ngx_string("ws_max_frame_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, max_frame_size),
      &ngx_http_ws_max_frame_size_here },

    { ngx_string("ws_send_buffer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, send_buffer),
      &ngx_http_ws_send_buffer_post },

    { ngx_string("ws_ping_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, ping_interval),
      NULL },

    { ngx_string("ws_ping_max_missed"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, ping_max_missed),
      &ngx_http_ws_ping_max_missed_bounds },

    { ngx_string("ws_idle_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, idle_timeout),
      NULL },

    { ngx_string("ws_close_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, close_timeout),
      NULL },

    { ngx_string("ws_fallback"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_fallback,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_ws_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_io_uring"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_ws_main_conf_t, io_uring),
      NULL },

    { ngx_string("ws_channel_history"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_ws_history_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_subscribe"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_ws_subscribe,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_publish"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_publish,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, publish),
      NULL },

    { ngx_string("ws_publisher"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_publisher,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_slow_consumer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, slow_consumer),
      &ngx_http_ws_slow_consumers },

    { ngx_string("ws_protocol"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_ws_protocol,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, protocol),
      &ngx_http_ws_protocols },

    { ngx_string("ws_channels_allow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_ws_channels_allow,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_max_subscriptions"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, max_subscriptions),
      &ngx_http_ws_max_subscriptions_bounds },

    { ngx_string("ws_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_ws_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_ws_health,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_deflate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, deflate),
      &ngx_http_ws_deflate_here },

    { ngx_string("ws_deflate_server_max_window_bits"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, deflate_server_max_window_bits),
      &ngx_http_ws_server_window_bounds },

    { ngx_string("ws_deflate_client_max_window_bits"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, deflate_client_max_window_bits),
      &ngx_http_ws_client_window_bounds },

    { ngx_string("ws_deflate_server_no_context_takeover"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, deflate_server_no_context_takeover),
      NULL },

    { ngx_string("ws_deflate_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, deflate_level),
      &ngx_http_ws_deflate_level_bounds },

    { ngx_string("ws_deflate_mem_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, deflate_mem_level),
      &ngx_http_ws_mem_level_bounds },

    { ngx_string("ws_deflate_min_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_ws_loc_conf_t, deflate_min_size),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_ws_module_ctx = {
    ngx_http_ws_preconfiguration,          /* preconfiguration */
    ngx_http_ws_postconfiguration,         /* postconfiguration */

    ngx_http_ws_create_main_conf,          /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_ws_create_loc_conf,           /* create location configuration */
    ngx_http_ws_merge_loc_conf             /* merge location configuration */
};


ngx_module_t  ngx_http_ws_module = {
    NGX_MODULE_V1,
    &ngx_http_ws_module_ctx,               /* module context */
    ngx_http_ws_commands,                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_ws_init_module,               /* init module */
    ngx_http_ws_init_process,              /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_ws_exit_process,              /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_ws_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_main_conf_t));
    if (wmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     wmcf->zone = NULL;
     *     wmcf->zone_need = { NULL, ... };
     */

    wmcf->io_uring = NGX_CONF_UNSET;

    if (ngx_array_init(&wmcf->hooks.all, cf->pool, 4,
                       sizeof(ngx_http_ws_hooks_t *))
        != NGX_OK
        || ngx_array_init(&wmcf->hooks.message, cf->pool, 2,
                          sizeof(ngx_http_ws_hooks_t *))
           != NGX_OK
        || ngx_array_init(&wmcf->hooks.reads_stopped, cf->pool, 1,
                          sizeof(ngx_http_ws_hooks_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return wmcf;
}


static void *
ngx_http_ws_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_ws_loc_conf_t  *wscf;

    wscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_ws_loc_conf_t));
    if (wscf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     wscf->fallback = { 0, NULL };
     *     wscf->subscribe = NULL;
     *     wscf->publish = NULL;
     *     wscf->publisher = NULL;
     */

    wscf->enabled = NGX_CONF_UNSET;
    wscf->echo = NGX_CONF_UNSET;
    wscf->max_message_size = NGX_CONF_UNSET_SIZE;
    wscf->max_frame_size = NGX_CONF_UNSET_SIZE;
    wscf->send_buffer = NGX_CONF_UNSET_SIZE;
    wscf->ping_interval = NGX_CONF_UNSET_MSEC;
    wscf->ping_max_missed = NGX_CONF_UNSET_UINT;
    wscf->idle_timeout = NGX_CONF_UNSET_MSEC;
    wscf->close_timeout = NGX_CONF_UNSET_MSEC;
    wscf->slow_consumer = NGX_CONF_UNSET_UINT;
    wscf->protocol = NGX_CONF_UNSET_UINT;
    wscf->channels_allow = NGX_CONF_UNSET_PTR;
    wscf->max_subscriptions = NGX_CONF_UNSET_UINT;
    wscf->deflate = NGX_CONF_UNSET;
    wscf->deflate_server_max_window_bits = NGX_CONF_UNSET_UINT;
    wscf->deflate_client_max_window_bits = NGX_CONF_UNSET_UINT;
    wscf->deflate_server_no_context_takeover = NGX_CONF_UNSET;
    wscf->deflate_level = NGX_CONF_UNSET_UINT;
    wscf->deflate_mem_level = NGX_CONF_UNSET_UINT;
    wscf->deflate_min_size = NGX_CONF_UNSET_SIZE;

    return wscf;
}


static char *
ngx_http_ws_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_ws_loc_conf_t *prev = parent;
    ngx_http_ws_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t  *clcf;

    /* ws_listen is not inherited: nested locations opt in themselves */
    ngx_conf_init_value(conf->enabled, 0);

    ngx_conf_merge_value(conf->echo, prev->echo, 0);
    ngx_conf_merge_size_value(conf->max_message_size,
                              prev->max_message_size, 1024 * 1024);
    ngx_http_ws_conf_merge_where(conf, prev, NGX_CONF_UNSET_SIZE,
                                 max_frame_size, max_frame_size_where);
    ngx_conf_merge_size_value(conf->max_frame_size,
                              prev->max_frame_size, 0);
    ngx_conf_merge_size_value(conf->send_buffer,
                              prev->send_buffer, 1024 * 1024);
    ngx_conf_merge_msec_value(conf->ping_interval,
                              prev->ping_interval, 30000);
    ngx_conf_merge_uint_value(conf->ping_max_missed,
                              prev->ping_max_missed, 3);
    ngx_conf_merge_msec_value(conf->idle_timeout, prev->idle_timeout, 0);
    ngx_conf_merge_msec_value(conf->close_timeout,
                              prev->close_timeout, 5000);
    ngx_conf_merge_str_value(conf->fallback, prev->fallback, "");
    ngx_conf_merge_uint_value(conf->slow_consumer, prev->slow_consumer,
                              NGX_HTTP_WS_SLOW_CONSUMER_CLOSE);
    ngx_conf_init_uint_value(conf->protocol, NGX_HTTP_WS_PROTOCOL_RAW);
    ngx_conf_merge_ptr_value(conf->channels_allow, prev->channels_allow,
                             NULL);
    ngx_conf_merge_uint_value(conf->max_subscriptions,
                              prev->max_subscriptions, 64);

    ngx_http_ws_conf_merge_where(conf, prev, NGX_CONF_UNSET, deflate,
                                 deflate_where);
    ngx_conf_merge_value(conf->deflate, prev->deflate, 0);
    ngx_conf_merge_uint_value(conf->deflate_server_max_window_bits,
                              prev->deflate_server_max_window_bits, 15);
    ngx_conf_merge_uint_value(conf->deflate_client_max_window_bits,
                              prev->deflate_client_max_window_bits, 15);
    ngx_conf_merge_value(conf->deflate_server_no_context_takeover,
                         prev->deflate_server_no_context_takeover, 0);
    /* level 1, as gzip_comp_level: most of the gain for little CPU */
    ngx_conf_merge_uint_value(conf->deflate_level, prev->deflate_level, 1);
    ngx_conf_merge_uint_value(conf->deflate_mem_level,
                              prev->deflate_mem_level, 8);
    ngx_conf_merge_size_value(conf->deflate_min_size,
                              prev->deflate_min_size, 64);

    /* the message limit is what stops a small frame inflating forever */
    if (conf->enabled && conf->deflate && conf->max_message_size == 0) {
        ngx_http_ws_conf_error(cf, &conf->deflate_where,
                               "\"ws_deflate\" needs a "
                               "\"ws_max_message_size\" other than 0, which "
                               "bounds inflated messages");
        return NGX_CONF_ERROR;
    }

    if (conf->protocol == NGX_HTTP_WS_PROTOCOL_JSON
        && conf->channels_allow == NULL)
    {
        ngx_http_ws_conf_error(cf, &conf->protocol_where,
                               "\"ws_protocol json\" needs "
                               "\"ws_channels_allow\" to say which channels "
                               "clients may use");
        return NGX_CONF_ERROR;
    }

    if (conf->max_message_size != 0
        && conf->max_frame_size > conf->max_message_size)
    {
        ngx_http_ws_conf_error(cf, &conf->max_frame_size_where,
                               "\"ws_max_frame_size\" %uz is larger than "
                               "\"ws_max_message_size\" %uz",
                               conf->max_frame_size, conf->max_message_size);
        return NGX_CONF_ERROR;
    }

    if (conf->close_timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_close_timeout\" must be greater than 0");
        return NGX_CONF_ERROR;
    }

    /*
     * What messages get, unless a directive of the location chose a
     * handler of its own: the JSON protocol answers with its own frames,
     * never an echo.
     */
    if (conf->handler == NULL) {
        if (conf->protocol == NGX_HTTP_WS_PROTOCOL_JSON) {
            conf->handler = &ngx_http_ws_control_handler;

        } else if (conf->publish) {
            conf->handler = &ngx_http_ws_channels_handler;

        } else if (conf->echo) {
            conf->handler = &ngx_http_ws_echo_handler;
        }
    }

    if (conf->publisher) {
        /*
         * The publish API bounds its bodies by ws_max_message_size and
         * answers in JSON (ngx_http_ws_publisher.c); NGINX's own bound
         * would refuse first, with its HTML page. The core module's
         * configuration of this location is merged by now.
         */
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        clcf->client_max_body_size = 0;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_ws_listen(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_loc_conf_t *wscf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (wscf->enabled != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    wscf->enabled = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_ws_handshake;

    return NGX_CONF_OK;
}


static char *
ngx_http_ws_fallback(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_loc_conf_t *wscf = conf;

    ngx_str_t  *value;

    if (wscf->fallback.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0
        || (value[1].data[0] != '/' && value[1].data[0] != '@'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"ws_fallback\" value \"%V\": expected "
                           "a URI starting with \"/\" or a named location "
                           "starting with \"@\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (value[1].data[0] == '@' && value[1].len == 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"ws_fallback\" value \"@\": "
                           "the named location has no name");
        return NGX_CONF_ERROR;
    }

    wscf->fallback = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_ws_check_send_buffer(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp < NGX_HTTP_WS_MIN_SEND_BUFFER) {
        return "must be at least 4k";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_ws_subscribe(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_loc_conf_t *wscf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_complex_value_t          *cv;
    ngx_http_compile_complex_value_t   ccv;

    if (wscf->subscribe) {
        return "is duplicate";
    }

    wscf->subscribe = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                       sizeof(ngx_http_complex_value_t));
    if (wscf->subscribe == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        cv = ngx_array_push(wscf->subscribe);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (cv->lengths == NULL
            && (!wscore_channel_name_valid((const char *) value[i].data,
                                           value[i].len)
                || ngx_http_ws_zone_is_direct(&value[i])))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid channel name \"%V\" in "
                               "\"ws_subscribe\": 1-%d printable ASCII "
                               "characters other than quote, backslash, "
                               "\"*\" and \"?\", not starting with "
                               "\"conn:\"",
                               &value[i], NGX_HTTP_WS_MAX_CHANNEL_LEN);
            return NGX_CONF_ERROR;
        }
    }

    ngx_http_ws_channels_used(cf);

    return NGX_CONF_OK;
}


static char *
ngx_http_ws_publish(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_loc_conf_t *wscf = conf;

    char  *rv;

    if (wscf->publish) {
        return "is duplicate";
    }

    rv = ngx_http_set_complex_value_slot(cf, cmd, conf);

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    ngx_http_ws_channels_used(cf);

    return NGX_CONF_OK;
}


static char *
ngx_http_ws_publisher(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_loc_conf_t *wscf = conf;

    ngx_str_t                         *value;
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_compile_complex_value_t   ccv;

    if (wscf->publisher) {
        return "is duplicate";
    }

    wscf->publisher = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (wscf->publisher == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = wscf->publisher;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_ws_publisher_handler;

    ngx_http_ws_channels_used(cf);

    return NGX_CONF_OK;
}


static char *
ngx_http_ws_protocol(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_loc_conf_t *wscf = conf;

    char  *rv;

    rv = ngx_http_ws_conf_set_enum_slot(cf, cmd, conf);

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    /* for the checks at merge: they name this line */
    ngx_http_ws_conf_here(cf, &wscf->protocol_where);

    if (wscf->protocol == NGX_HTTP_WS_PROTOCOL_JSON) {
        ngx_http_ws_channels_used(cf);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_ws_channels_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_ws_loc_conf_t *wscf = conf;

    ngx_str_t   *value, *pattern;
    ngx_uint_t   i;

    if (wscf->channels_allow != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    wscf->channels_allow = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                            sizeof(ngx_str_t));
    if (wscf->channels_allow == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (!wscore_channel_pattern_valid((const char *) value[i].data,
                                          value[i].len))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid pattern \"%V\" in "
                               "\"ws_channels_allow\": 1-%d printable "
                               "ASCII characters other than quote and "
                               "backslash", &value[i],
                               NGX_HTTP_WS_MAX_CHANNEL_LEN);
            return NGX_CONF_ERROR;
        }

        pattern = ngx_array_push(wscf->channels_allow);
        if (pattern == NULL) {
            return NGX_CONF_ERROR;
        }

        *pattern = value[i];
    }

    return NGX_CONF_OK;
}


/* Channels live in ws_zone: the first use is named if it lacks. */
static void
ngx_http_ws_channels_used(ngx_conf_t *cf)
{
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_module);

    ngx_http_ws_conf_need(cf, &wmcf->zone_need,
                          "channels are used in %V:%ui but no \"ws_zone\" "
                          "is defined in the http block");
}


static ngx_int_t
ngx_http_ws_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_ws_variables_add(cf);
}


static ngx_int_t
ngx_http_ws_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_ws_zone_ctx_t   *ctx;
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_ws_module);

    /* channels, ws_status, ws_channel_history, ws_redis, shared limits */
    if (ngx_http_ws_conf_check_need(cf, &wmcf->zone_need, wmcf->zone)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (wmcf->zone) {
        ctx = wmcf->zone->data;
        ctx->history_max = wmcf->history_max;
        ctx->history_time = wmcf->history_time;
    }

    /*
     * The lower layers are handed what they ask of the higher ones: a
     * resuming subscription gets what it missed from the history, whose
     * replay a JSON-protocol ack goes before.
     */
    ngx_http_ws_channels_on_resume(ngx_http_ws_history_resume);
    ngx_http_ws_history_on_ack(ngx_http_ws_control_ack);

    /* in this order: channel names are checked before the extensions */
    if (ngx_http_ws_session_add_hooks(cf, &ngx_http_ws_channels_hooks)
        != NGX_OK
        || ngx_http_ws_session_add_hooks(cf, &ngx_http_ws_deflate_hooks)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_ws_metrics_postconfiguration(cf);
}


static ngx_int_t
ngx_http_ws_init_module(ngx_cycle_t *cycle)
{
    /* a publish wakes the workers it queued to through their eventfds */
    ngx_http_ws_zone_on_wake(ngx_http_ws_ipc_notify);

    if (ngx_http_ws_capacity_init_module(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_ws_ipc_init_module(cycle);
}


static ngx_int_t
ngx_http_ws_init_process(ngx_cycle_t *cycle)
{
    ngx_http_ws_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_ws_module);

    if (wmcf == NULL) {
        return NGX_OK;
    }

    /* ws_io_uring is on unless turned off; echo needs no zone */
    if (wmcf->io_uring != 0
        && ngx_http_ws_uring_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (wmcf->zone == NULL) {
        return NGX_OK;
    }

    if (ngx_http_ws_metrics_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_ws_capacity_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_ws_channels_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_ws_ipc_init_process(cycle,
                                       ngx_http_ws_channels_deliver_all);
}


static void
ngx_http_ws_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_ws_ipc_exit_process(cycle);
    ngx_http_ws_uring_exit_process(cycle);
    ngx_http_ws_channels_exit_process(cycle);
    ngx_http_ws_metrics_exit_process(cycle);
    ngx_http_ws_deflate_exit_process(cycle);
    ngx_http_ws_block_cache_exit_process();
}
