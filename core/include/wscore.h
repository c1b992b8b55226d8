/*
 * wscore.h - the C ABI of the ngx_ws protocol core.
 *
 * The core is sans-I/O: it never touches a socket, a clock or NGINX. The
 * caller feeds it bytes and the current time (milliseconds on any monotonic
 * clock), reads back events, bytes to write and the next deadline.
 *
 * Conventions (picohttpparser-like), the same for every call:
 *
 * - The caller owns every buffer it passes in, and every handle (session,
 *   deflater, router, control parser, token reader): the core keeps no
 *   state of its own between calls. Pointers handed out by the core stay
 *   valid until the next call on the same handle.
 * - A call that can fail returns wscore_rc_t: WSCORE_OK (0), or a negative
 *   code; what it produces comes back through out-parameters. A few calls
 *   return a richer enum of their own that keeps the same shape (0 or a
 *   positive outcome on success, negative on failure). A call that
 *   answers a yes/no question (..._valid, ..._match, ..._allows,
 *   ..._is_..., and wscore_bucket_take: "was there a token?") returns int
 *   1 or 0 and cannot fail; one that only reports a size or a count (or
 *   writes a reply and says how long it is) returns size_t.
 * - Callbacks take the caller's ctx as their first argument.
 * - No function throws.
 */

#ifndef WSCORE_H
#define WSCORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif


/* ------------------------------------------------------------------ */
/* Common types                                                        */
/* ------------------------------------------------------------------ */

typedef enum {
    WSCORE_OK       = 0,
    WSCORE_ERROR    = -1,   /* the input is refused; the call says why */
    WSCORE_NOMEM    = -2    /* out of memory; nothing changed */
} wscore_rc_t;

/* A byte string the caller or the core owns, as each call says; absent
 * values have data == NULL. */
typedef struct {
    const char *data;
    size_t      len;
} wscore_str_t;

/* Opcodes of RFC 6455 section 5.2. */
typedef enum {
    WSCORE_OP_CONTINUATION = 0x0,
    WSCORE_OP_TEXT         = 0x1,
    WSCORE_OP_BINARY       = 0x2,
    WSCORE_OP_CLOSE        = 0x8,
    WSCORE_OP_PING         = 0x9,
    WSCORE_OP_PONG         = 0xA
} wscore_opcode_e;


/* Close codes the server itself sends (RFC 6455 section 7.4.1). */
typedef enum {
    WSCORE_CLOSE_NORMAL           = 1000,
    WSCORE_CLOSE_GOING_AWAY       = 1001,
    WSCORE_CLOSE_PROTOCOL_ERROR   = 1002,
    WSCORE_CLOSE_UNSUPPORTED_DATA = 1003,
    WSCORE_CLOSE_NO_STATUS        = 1005,  /* never sent on the wire */
    WSCORE_CLOSE_ABNORMAL         = 1006,  /* never sent on the wire */
    WSCORE_CLOSE_INVALID_PAYLOAD  = 1007,
    WSCORE_CLOSE_POLICY_VIOLATION = 1008,
    WSCORE_CLOSE_MESSAGE_TOO_BIG  = 1009,
    WSCORE_CLOSE_INTERNAL_ERROR   = 1011,
    WSCORE_CLOSE_TRY_AGAIN_LATER  = 1013
} wscore_close_code_e;


/* ------------------------------------------------------------------ */
/* Handshake (RFC 6455 section 4.2.1)                                  */
/* ------------------------------------------------------------------ */

/*
 * The parts of an HTTP request the opening handshake looks at. Header
 * values that occur several times are passed joined with ", " (RFC 9110
 * section 5.3); absent headers have data == NULL.
 */
typedef struct {
    wscore_str_t method;        /* "GET" */
    unsigned     http_major;
    unsigned     http_minor;
    wscore_str_t host;
    wscore_str_t upgrade;
    wscore_str_t connection;
    wscore_str_t version;       /* Sec-WebSocket-Version */
    wscore_str_t key;           /* Sec-WebSocket-Key */
} wscore_handshake_request_t;

/* Length of a Sec-WebSocket-Accept value (base64 of 20 bytes). */
#define WSCORE_ACCEPT_LEN 28

typedef struct {
    /* 0 when the request is a valid upgrade; else the HTTP status to send:
     * 405 (not GET), 426 (not an upgrade at all, or wrong version: the
     * caller then adds "Sec-WebSocket-Version: 13"), 400 (malformed),
     * 500 (only if OpenSSL's SHA-1 fails). */
    int         status;
    /* Why, for the error log; a static string, never NULL. */
    const char *reason;
    /* Sec-WebSocket-Accept, valid when status == 0, NUL-terminated. */
    char        accept[WSCORE_ACCEPT_LEN + 1];
} wscore_handshake_result_t;

void wscore_handshake_validate(const wscore_handshake_request_t *req,
    wscore_handshake_result_t *result);

/* Is the request an upgrade attempt at all (Upgrade has "websocket")? */
int wscore_handshake_is_upgrade(const wscore_handshake_request_t *req);


/* ------------------------------------------------------------------ */
/* Origin check (RFC 6455 section 10.2)                                */
/* ------------------------------------------------------------------ */

typedef enum {
    WSCORE_ORIGIN_EXACT = 0,   /* "scheme://host[:port]" */
    WSCORE_ORIGIN_WILDCARD,    /* "[scheme://]*.domain[:port]": any host
                                  below domain, not domain itself; no
                                  scheme means http or https */
    WSCORE_ORIGIN_NULL         /* "null": sandboxed frames, file: pages */
} wscore_origin_kind_e;

/* A parsed allowed-origin pattern; its strings point into the text. */
typedef struct {
    wscore_origin_kind_e kind;
    wscore_str_t         scheme;   /* empty for scheme-less wildcards */
    wscore_str_t         host;     /* WILDCARD: the suffix ".domain" */
    wscore_str_t         port;     /* empty: none */
} wscore_origin_pattern_t;

typedef enum {
    WSCORE_ORIGIN_PATTERN_OK           = WSCORE_OK,
    WSCORE_ORIGIN_PATTERN_MALFORMED    = WSCORE_ERROR,  /* not
                                          "[scheme://]host[:port]" nor
                                          "null" */
    WSCORE_ORIGIN_PATTERN_NO_SCHEME    = -3,  /* only wildcards may leave
                                                 the scheme out */
    WSCORE_ORIGIN_PATTERN_BAD_WILDCARD = -4   /* '*' may only stand for
                                                 the leading labels */
} wscore_origin_pattern_rc_e;

/* Parses one pattern of an allow-list. */
wscore_origin_pattern_rc_e wscore_origin_pattern_parse(const char *text,
    size_t len, wscore_origin_pattern_t *pattern);

/* Does the Origin header value match the pattern? Hosts and schemes
 * compare without regard to case. 1 or 0. */
int wscore_origin_match(const wscore_origin_pattern_t *pattern,
    const char *origin, size_t len);


/* ------------------------------------------------------------------ */
/* Frame encoding (server to client: never masked)                     */
/* ------------------------------------------------------------------ */

#define WSCORE_MAX_HEADER_LEN 10

/* Writes a frame header into out (at least WSCORE_MAX_HEADER_LEN bytes);
 * returns its length. */
size_t wscore_frame_header_encode(uint8_t *out, wscore_opcode_e opcode,
    int fin, int rsv1, uint64_t payload_len);


/* ------------------------------------------------------------------ */
/* Session: one WebSocket connection after the 101                     */
/* ------------------------------------------------------------------ */

typedef struct {
    uint64_t max_frame_size;     /* payload bytes per frame; 0 = no limit */
    uint64_t max_message_size;   /* bytes per reassembled message; 0 = none */
    uint64_t ping_interval_ms;   /* 0 = no pings */
    uint32_t ping_max_missed;    /* unanswered pings before closing; >= 1 */
    uint64_t idle_timeout_ms;    /* no data message from peer; 0 = off */
    uint64_t close_timeout_ms;   /* wait for the peer's close after ours */
} wscore_config_t;

/* Fills cfg with the documented defaults: 1m message and frame size,
 * ping every 30 s, 3 missed, no idle timeout, 5 s close timeout. */
void wscore_config_default(wscore_config_t *cfg);

typedef enum {
    WSCORE_STATE_OPEN = 0,
    WSCORE_STATE_CLOSING,  /* we sent close, waiting for the peer's */
    WSCORE_STATE_CLOSED    /* close handshake over or failed: flush the
                              output, then close TCP */
} wscore_state_e;

typedef enum {
    WSCORE_EVENT_NONE = 0,  /* all input consumed, nothing to report */
    WSCORE_EVENT_MESSAGE,   /* a complete text or binary message */
    WSCORE_EVENT_PING,      /* a ping; the pong is already in the output,
                               unless we have sent our close already */
    WSCORE_EVENT_PONG,      /* a pong (solicited or not) */
    WSCORE_EVENT_CLOSE,     /* the peer's close frame; our reply (if one was
                               due) is in the output; state is CLOSED */
    WSCORE_EVENT_ERROR,     /* the peer broke the protocol or a limit; our
                               close frame is in the output; state CLOSED */
    WSCORE_EVENT_FRAGMENT   /* a piece of a large message, streamed (see
                               wscore_session_stream_messages) */
} wscore_event_type_e;

typedef struct {
    wscore_event_type_e type;
    wscore_opcode_e     opcode;       /* MESSAGE: TEXT or BINARY */
    const uint8_t      *data;         /* MESSAGE/PING/PONG payload;
                                         CLOSE: the reason */
    size_t              len;
    uint16_t            close_code;   /* CLOSE: the peer's code (1005 if it
                                         sent none); ERROR: the code we sent */
    const char         *error;        /* ERROR: why, for the log (static) */
    int                 placed;       /* MESSAGE: data is the caller's own
                                         buffer from wscore_payload_sink_t */
    int                 first;        /* FRAGMENT: the message's first piece
                                         (opcode is TEXT or BINARY on every
                                         piece) */
    int                 fin;          /* FRAGMENT: its last piece (len may
                                         be 0) */
} wscore_event_t;

typedef struct wscore_session_s wscore_session_t;

/* NULL on allocation failure. */
wscore_session_t *wscore_session_create(const wscore_config_t *cfg,
    uint64_t now_ms);
void wscore_session_destroy(wscore_session_t *s);

/*
 * The same session in memory the caller owns (a block of its own that
 * holds the session too, one heap chunk less per connection): mem is
 * wscore_session_size() bytes aligned to WSCORE_SESSION_ALIGN.
 * wscore_session_destroy_in() ends it and leaves mem to the caller. The
 * constructor allocates nothing, so this cannot fail.
 */
#define WSCORE_SESSION_ALIGN  8
size_t wscore_session_size(void);
wscore_session_t *wscore_session_create_in(void *mem,
    const wscore_config_t *cfg, uint64_t now_ms);
void wscore_session_destroy_in(wscore_session_t *s);

/*
 * Feeds input bytes. Parses until one event is ready or the input is used
 * up; returns how many bytes of data were consumed and fills *ev
 * (WSCORE_EVENT_NONE when the input ran out first). The caller loops until
 * all input is consumed, handling each event. ev->data stays valid until
 * the next call on s. Once the state is CLOSED, input is consumed and
 * ignored. Message payloads are reassembled inside the core, bounded by
 * max_message_size; the reassembly buffer is released after large messages
 * so idle sessions hold little memory.
 */
size_t wscore_session_receive(wscore_session_t *s, const uint8_t *data,
    size_t len, uint64_t now_ms, wscore_event_t *ev);

/*
 * Where a message that arrives whole may go instead of the core's buffer:
 * a message in one uncompressed frame (FIN set, RSV1 clear) whose payload
 * is all in the input of this call, while the state is OPEN. The core
 * asks alloc for len bytes (len may be 0), unmasks the payload straight
 * into them, and reports the MESSAGE with ev->data pointing there and
 * ev->placed set: an echo can send a buffer laid out as its output frame
 * without copying the payload again. The buffer is the caller's and the
 * core keeps no pointer to it. alloc is called at most once per call; if
 * that call then reports anything but the placed MESSAGE (an ERROR for
 * invalid UTF-8), the caller frees the buffer. alloc may return NULL: the
 * message then goes through the core's buffer as usual. Fragmented and
 * compressed messages, and payloads split across calls, always do.
 */
typedef struct {
    uint8_t  *(*alloc)(void *ctx, wscore_opcode_e opcode, size_t len);
    void      *ctx;
} wscore_payload_sink_t;

/* wscore_session_receive with a sink (NULL: none). */
size_t wscore_session_receive_to(wscore_session_t *s, const uint8_t *data,
    size_t len, uint64_t now_ms, const wscore_payload_sink_t *sink,
    wscore_event_t *ev);

/*
 * Reading straight into the reassembly buffer. While the input has stopped
 * inside the payload of an uncompressed data frame (a large message that
 * did not fit one read), the rest of that payload may be received where
 * the core would copy it anyway: the window is *len bytes (at most max,
 * no more than the frame still has) at the returned address, or NULL (and
 * *len 0) when there is no such payload, or no memory, or messages are
 * streamed (wscore_session_stream_messages: pieces stay one read of the
 * caller's own buffer). Its room is
 * reserved in the reassembly buffer, within the limits the frame's header
 * was checked against. Read into it, then report the bytes read with
 * wscore_session_received (n <= *len), which unmasks them in place, checks
 * text as UTF-8 and fills *ev as wscore_session_receive does for the same
 * bytes (a MESSAGE when they end the message, an ERROR for invalid UTF-8,
 * else NONE). The window is valid until the next call on s; like any call
 * but take_message, asking for it ends the validity of the last event's
 * data.
 */
uint8_t *wscore_session_receive_window(wscore_session_t *s, size_t max,
    size_t *len);
void wscore_session_received(wscore_session_t *s, size_t n, uint64_t now_ms,
    wscore_event_t *ev);

/*
 * The payload of the MESSAGE event just reported, when it came from the
 * core's reassembly buffer (not placed, not a FRAGMENT), handed to the
 * caller: the returned block holds it at WSCORE_MESSAGE_HEADROOM bytes
 * from its start (where ev->data points), so a frame header can be written
 * in front of it without copying the payload (an echo's reply to a message
 * that came in several reads or frames). Call before the next call on s;
 * NULL when there is no such message. The block is the caller's, freed
 * with wscore_message_free(); the core starts a new buffer for the next
 * message.
 */
/* room for a 10-byte header after 24 bytes of the caller's, 8-aligned */
#define WSCORE_MESSAGE_HEADROOM 34
uint8_t *wscore_session_take_message(wscore_session_t *s);
void wscore_message_free(uint8_t *block);

/*
 * Control frames the core produced (pongs, pings, close frames) wait in the
 * session's output. The caller takes them in order before queueing its own
 * frames, so the wire order matches the event order.
 */
void wscore_session_output(wscore_session_t *s, const uint8_t **data,
    size_t *len);
void wscore_session_output_consumed(wscore_session_t *s, size_t n);

/*
 * Starts a server-initiated close: queues a close frame with code and
 * reason (reason truncated to fit 125 bytes), state becomes CLOSING and the
 * close timeout starts. While the peer's close waits for its answer (see
 * wscore_session_answer_close_later), this is that answer: the close frame
 * goes out and the state becomes CLOSED. Ignored otherwise.
 */
void wscore_session_close(wscore_session_t *s, uint16_t code,
    const char *reason, uint64_t now_ms);

/*
 * A proxy answers a peer's close with what the other side answers: with
 * this on, the peer's close (the CLOSE event) is not answered at once; the
 * state becomes CLOSING, the peer's further input is ignored, and the
 * caller answers with wscore_session_close. If it has not within the close
 * timeout, wscore_session_on_timer answers with the peer's own code
 * (WSCORE_TIMER_CLOSE_ANSWERED).
 */
void wscore_session_answer_close_later(wscore_session_t *s, int on);

/* Does the peer's close wait for the caller's answer? 1 or 0. */
int wscore_session_close_pending(const wscore_session_t *s);

wscore_state_e wscore_session_state(const wscore_session_t *s);

/* The close code that ended the session: sent or received, 1006 if none. */
uint16_t wscore_session_close_code(const wscore_session_t *s);

/*
 * Streams large messages instead of reassembling them (a proxy relays
 * them frame by frame): once a message's payload so far reaches
 * WSCORE_STREAM_THRESHOLD bytes, what is buffered is reported as a
 * FRAGMENT (first set), and from then on what each call receives (after
 * unmasking and inflating), then a last FRAGMENT with fin set. UTF-8 and
 * max_message_size still apply to the whole message: an ERROR may follow
 * fragments already reported. Smaller messages stay MESSAGE events.
 */
#define WSCORE_STREAM_THRESHOLD 16384

void wscore_session_stream_messages(wscore_session_t *s, int on);

/* Is a data message partly received (a fragmented message in progress)? */
int wscore_session_in_message(const wscore_session_t *s);

/* The nearest time at which wscore_session_on_timer must run; 0 = none. */
uint64_t wscore_session_next_deadline(const wscore_session_t *s);

typedef enum {
    WSCORE_TIMER_NONE = 0,      /* nothing due yet */
    WSCORE_TIMER_PING_SENT,     /* a ping is in the output */
    WSCORE_TIMER_UNRESPONSIVE,  /* ping_max_missed pings went unanswered:
                                   close 1001 in the output, state CLOSING */
    WSCORE_TIMER_IDLE,          /* idle timeout: close 1001 in the output */
    WSCORE_TIMER_CLOSE_EXPIRED, /* the peer never answered our close: drop
                                   the TCP connection now; state CLOSED */
    WSCORE_TIMER_CLOSE_ANSWERED /* the caller never answered the peer's
                                   close: the answer (its own code) is in
                                   the output; state CLOSED */
} wscore_timer_result_e;

wscore_timer_result_e wscore_session_on_timer(wscore_session_t *s,
    uint64_t now_ms);


/* ------------------------------------------------------------------ */
/* Client side: a session that is the upstream's client (a proxy)      */
/* ------------------------------------------------------------------ */

/*
 * Where the masking keys of a client's frames come from (RFC 6455
 * section 5.3: a strong source of entropy, a fresh key per frame). The
 * core has no randomness of its own: key(ctx, out) writes 4 bytes.
 */
typedef struct {
    void  (*key)(void *ctx, uint8_t key[4]);
    void   *ctx;
} wscore_mask_source_t;

/*
 * Makes s the client of its peer, before its first byte: the peer's frames
 * must then be unmasked (a masked one is a protocol error, 1002), and the
 * pongs and close frames s writes are masked with keys from source, which
 * the caller keeps alive as long as s.
 */
void wscore_session_act_as_client(wscore_session_t *s,
    const wscore_mask_source_t *source);

#define WSCORE_MAX_CLIENT_HEADER_LEN 14

/* Bytes a masked frame with len bytes of payload takes on the wire; 0
 * where that does not fit in a size_t. */
size_t wscore_client_frame_len(uint64_t payload_len);

/*
 * Writes a masked frame (header, key, masked payload) into out, which has
 * room for wscore_client_frame_len(len) bytes; returns that length, or 0
 * (nothing written) for a NULL out or key, a NULL payload with len > 0,
 * an unknown opcode, or a control frame that is not whole or is over 125
 * bytes.
 */
size_t wscore_client_frame_encode(uint8_t *out, wscore_opcode_e opcode,
    int fin, int rsv1, const uint8_t *payload, size_t len,
    const uint8_t key[4]);

/* The parts of a server's handshake answer a client checks. Absent
 * headers have data == NULL; repeated ones are joined with ", ". */
typedef struct {
    int           status;       /* of the status line */
    wscore_str_t  upgrade;
    wscore_str_t  connection;
    wscore_str_t  accept;       /* Sec-WebSocket-Accept */
    wscore_str_t  protocol;     /* Sec-WebSocket-Protocol */
    wscore_str_t  extensions;   /* Sec-WebSocket-Extensions */
} wscore_handshake_response_t;

/*
 * Checks a server's answer (RFC 6455 section 4.1) to a request with
 * Sec-WebSocket-Key key and offered_protocols (the Sec-WebSocket-Protocol
 * list sent, data == NULL: none): status 101, Upgrade websocket,
 * Connection upgrade, the Accept value of key, a subprotocol only if one
 * of those offered, no extension (none is offered). WSCORE_OK, or
 * WSCORE_ERROR with *why (static) for the log.
 */
wscore_rc_t wscore_handshake_check_response(
    const wscore_handshake_response_t *resp, const char *key,
    size_t key_len, wscore_str_t offered_protocols, const char **why);


/* ------------------------------------------------------------------ */
/* permessage-deflate (RFC 7692)                                       */
/* ------------------------------------------------------------------ */

/* What the server is willing to agree to. */
typedef struct {
    unsigned  server_max_window_bits;   /* 9..15: our compressor's largest
                                           window; zlib cannot do 8, so
                                           offers that insist on 8 are
                                           declined */
    unsigned  client_max_window_bits;   /* 8..15: asked of clients whose
                                           offer names the parameter */
    int       server_no_context_takeover;  /* 1: promise it even unasked */
} wscore_deflate_policy_t;

/* The agreed parameters. */
typedef struct {
    unsigned  server_max_window_bits;
    unsigned  client_max_window_bits;
    int       server_no_context_takeover;
    int       client_no_context_takeover;
} wscore_deflate_params_t;

#define WSCORE_DEFLATE_ANSWER_MAX  160

typedef enum {
    WSCORE_DEFLATE_MALFORMED = -1,  /* the header breaks the grammar of
                                       RFC 6455 section 9.1: answer 400 */
    WSCORE_DEFLATE_DECLINED  = 0,   /* no acceptable offer: no extension */
    WSCORE_DEFLATE_ACCEPTED  = 1
} wscore_deflate_outcome_e;

typedef struct {
    wscore_deflate_outcome_e  outcome;
    wscore_deflate_params_t   params;    /* ACCEPTED */
    /* ACCEPTED: the Sec-WebSocket-Extensions value to answer with */
    char                      answer[WSCORE_DEFLATE_ANSWER_MAX];
    size_t                    answer_len;
    const char               *reason;    /* why declined or malformed
                                            (static), for the log */
} wscore_deflate_negotiation_t;

/*
 * Picks the first acceptable permessage-deflate offer of the request's
 * Sec-WebSocket-Extensions (every value joined with ", "); unknown or
 * repeated parameters and bad values decline that offer only.
 */
void wscore_deflate_negotiate(const wscore_deflate_policy_t *policy,
    const char *header, size_t len, wscore_deflate_negotiation_t *result);

/*
 * The Sec-WebSocket-Extensions value of a client's permessage-deflate
 * offer (RFC 7692): it lets the server limit our window and accepts any
 * window of the server's.
 */
#define WSCORE_CLIENT_DEFLATE_OFFER \
    "permessage-deflate; client_max_window_bits"

/*
 * As wscore_handshake_check_response, for a request that offered
 * WSCORE_CLIENT_DEFLATE_OFFER: an extension in the answer must then be a
 * valid agreement to that offer (RFC 7692 section 7.1: one
 * permessage-deflate, known parameters, each once, with valid values;
 * client_max_window_bits=8 is refused, zlib cannot compress within it),
 * else WSCORE_ERROR with *why. On WSCORE_OK *agreed is 1 and *params the
 * agreement, or *agreed is 0 (the server declined: no compression).
 */
wscore_rc_t wscore_handshake_check_response_deflate(
    const wscore_handshake_response_t *resp, const char *key,
    size_t key_len, wscore_str_t offered_protocols,
    wscore_deflate_params_t *params, int *agreed, const char **why);

/*
 * Turns on decompression in a session: RSV1 on the first frame of a data
 * message then means the message is compressed; it is inflated within
 * max_message_size (close 1009 past it, 1007 for corrupt data) before it
 * is reported. WSCORE_OK, or WSCORE_NOMEM (WSCORE_ERROR for params NULL).
 */
wscore_rc_t wscore_session_enable_deflate(wscore_session_t *s,
    const wscore_deflate_params_t *params);

/* Bytes the session's decompressor holds now (0 when idle without
 * client context takeover). */
size_t wscore_session_inflater_memory(const wscore_session_t *s);

/*
 * A compressor of whole messages. With context_takeover 0 it is reset
 * after each message, so one compressor may serve every connection that
 * agreed to no server context takeover with a window of at least
 * window_bits, and its output may be shared between them.
 */
typedef struct wscore_deflater_s wscore_deflater_t;

/* window_bits 9..15, level 0..9, mem_level 1..9; NULL when out of memory. */
wscore_deflater_t *wscore_deflater_create(unsigned window_bits, int level,
    int mem_level, int context_takeover);
void wscore_deflater_destroy(wscore_deflater_t *d);

/*
 * Compresses one message (RFC 7692 section 7.2.1: sync flush, the
 * 0x00 0x00 0xff 0xff tail removed). *out stays valid until the next call
 * on d. WSCORE_OK, or WSCORE_NOMEM.
 */
wscore_rc_t wscore_deflater_compress(wscore_deflater_t *d, const uint8_t *data,
    size_t len, const uint8_t **out, size_t *out_len);

/* Bytes the compressor holds now. */
size_t wscore_deflater_memory(const wscore_deflater_t *d);


/* ------------------------------------------------------------------ */
/* Channels: the per-worker pub/sub router                             */
/* ------------------------------------------------------------------ */

/*
 * One router per NGINX worker: no threads, no shared memory (the module
 * carries messages between workers). Subscribers are the caller's opaque
 * handles (a session pointer); the router never dereferences them. A
 * channel exists while it has at least one subscriber; the FIRST and LAST
 * codes tell the caller when to start and stop listening for the channel
 * across workers.
 */
typedef struct wscore_router_s wscore_router_t;

typedef struct {
    size_t max_channels_per_subscriber;  /* 0 = no limit */
    size_t max_channel_name_len;         /* 0 = no limit */
} wscore_router_config_t;

typedef enum {
    WSCORE_ROUTER_OK        = WSCORE_OK,
    WSCORE_ROUTER_FIRST     = 1,   /* subscribe: first local subscriber of
                                      the channel */
    WSCORE_ROUTER_LAST      = 2,   /* unsubscribe: the channel has no local
                                      subscriber left */
    WSCORE_ROUTER_EXISTS    = 3,   /* subscribe: already subscribed (no
                                      change) */
    WSCORE_ROUTER_NOT_FOUND = 4,   /* unsubscribe: was not subscribed */
    WSCORE_ROUTER_BAD_NAME  = WSCORE_ERROR,  /* not a valid channel name
                                      (wscore_channel_name_valid), or
                                      over max_channel_name_len */
    WSCORE_ROUTER_NOMEM     = WSCORE_NOMEM,  /* nothing changed */
    WSCORE_ROUTER_TOO_MANY  = -3   /* subscriber at
                                      max_channels_per_subscriber */
} wscore_router_rc_e;

/* cfg NULL = no limits. NULL on allocation failure. */
wscore_router_t *wscore_router_create(const wscore_router_config_t *cfg);
void wscore_router_destroy(wscore_router_t *r);

/*
 * Both check the name first (BAD_NAME), so a name subscribe refuses is
 * never reported as NOT_FOUND. channel may be NULL when len is 0.
 */
wscore_router_rc_e wscore_router_subscribe(wscore_router_t *r,
    void *subscriber, const char *channel, size_t len);
wscore_router_rc_e wscore_router_unsubscribe(wscore_router_t *r,
    void *subscriber, const char *channel, size_t len);

/*
 * Removes every subscription of subscriber (call it when the session
 * closes); calls on_last(ctx, channel, len) for each channel that lost its
 * last local subscriber, in no particular order. on_last may be NULL. The
 * channel name passed to it is valid only during the call; on_last may
 * call back into the router.
 */
typedef void (*wscore_router_channel_pt)(void *ctx, const char *channel,
    size_t len);
void wscore_router_unsubscribe_all(wscore_router_t *r, void *subscriber,
    wscore_router_channel_pt on_last, void *ctx);

/* Local subscribers of channel; 0 for unknown or invalid names. */
size_t wscore_router_subscribers(const wscore_router_t *r,
    const char *channel, size_t len);

/* Channels subscriber is subscribed to. */
size_t wscore_router_channels_of(const wscore_router_t *r, void *subscriber);

/*
 * Calls visit(ctx, subscriber) for each local subscriber of channel, in
 * subscription order; returns how many were visited. visit may unsubscribe
 * the visited subscriber or any other (from this or other channels) and
 * subscribe new ones: removed ones not yet visited are skipped, ones added
 * during the visit are not visited. No allocation per visit. visit may be
 * NULL (counts only).
 */
typedef void (*wscore_router_visit_pt)(void *ctx, void *subscriber);
size_t wscore_router_for_each(wscore_router_t *r, const char *channel,
    size_t len, wscore_router_visit_pt visit, void *ctx);

/*
 * Records the channel's sequence number when subscriber joined it (0 after
 * subscribe); for_each_after(seq) then skips subscribers with since >= seq:
 * a message published before they joined, delivered late, is not theirs.
 * Returns WSCORE_ROUTER_OK or WSCORE_ROUTER_NOT_FOUND.
 */
wscore_router_rc_e wscore_router_set_since(wscore_router_t *r,
    void *subscriber, const char *channel, size_t len, uint64_t since);
size_t wscore_router_for_each_after(wscore_router_t *r, const char *channel,
    size_t len, uint64_t seq, wscore_router_visit_pt visit, void *ctx);

/*
 * for_each_after(seq) that also tells visit each subscriber's mark (what
 * set_since recorded): a caller delivering several messages of the channel
 * in one walk passes the highest of their numbers and gives a subscriber
 * only the messages numbered above its mark, as one walk per message would.
 */
typedef void (*wscore_router_visit_since_pt)(void *ctx, void *subscriber,
    uint64_t since);
size_t wscore_router_for_each_since(wscore_router_t *r, const char *channel,
    size_t len, uint64_t seq, wscore_router_visit_since_pt visit, void *ctx);

/*
 * The one channel-name rule: 1..WSCORE_MAX_CHANNEL_LEN bytes of printable
 * ASCII (0x21-0x7e) other than '"', '\\', '*' and '?'. Names so made need
 * no escaping in JSON, log lines, metrics labels or Redis keys, and never
 * look like a pattern: a subscribe to "room:*" is refused, not taken as
 * the literal channel. 1 when valid, else 0.
 */
#define WSCORE_MAX_CHANNEL_LEN 255

int wscore_channel_name_valid(const char *name, size_t len);

/* The same rule for allow-list patterns, with '*' and '?' allowed. */
int wscore_channel_pattern_valid(const char *pattern, size_t len);

/*
 * Channel patterns for allow-lists: '*' matches any run of bytes (also
 * none), '?' exactly one byte, every other byte itself; there is no
 * escape. A pattern without wildcards matches only the same name. Returns
 * 1 on a match, else 0.
 */
int wscore_channel_pattern_match(const char *pattern, size_t plen,
    const char *name, size_t nlen);


/* ------------------------------------------------------------------ */
/* Control protocol: JSON requests from clients on channel endpoints   */
/* ------------------------------------------------------------------ */

typedef enum {
    WSCORE_CTL_SUBSCRIBE = 1,
    WSCORE_CTL_UNSUBSCRIBE,
    WSCORE_CTL_PUBLISH,
    WSCORE_CTL_AUTH,       /* {"op":"auth","token":"..."}: a fresh token */
    WSCORE_CTL_RPC,        /* {"op":"rpc","method":"...","data":...}: a
                              call a backend answers */
    WSCORE_CTL_SEND        /* {"op":"send","data":...}: a message for a
                              backend */
} wscore_ctl_op_e;

typedef struct {
    wscore_ctl_op_e op;
    wscore_str_t    channel;   /* the string's content, without quotes;
                                  points into the caller's input */
    wscore_str_t    data;      /* raw JSON text of "data" (any JSON value,
                                  validated) when present (publish needs
                                  it), points into the input; else
                                  data == NULL */
    wscore_str_t    id;        /* raw JSON text of "id" if present (string
                                  with its quotes, or number), else
                                  data == NULL; safe to echo back as is */
    uint64_t        last_seq;  /* "last_seq" of a subscribe: the last
                                  message the client saw, to resume after */
    int             has_last_seq;
    const char     *error;     /* on failure (static): "bad json", "bad id",
                                  "unknown op", "missing channel",
                                  "bad channel", "missing data", "bad
                                  last_seq" or "out of memory"; for auth
                                  "missing token" or "bad token" instead
                                  of the channel ones, for rpc "missing
                                  method" or "bad method", for send
                                  "missing data"; else NULL */
    wscore_str_t    token;     /* auth: the string's content, without
                                  quotes, never escaped; points into the
                                  input */
    wscore_str_t    method;    /* rpc: the string's content, without
                                  quotes: 1-128 printable ASCII characters
                                  other than quote and backslash (fit for a
                                  header); points into the input */
} wscore_ctl_request_t;

/*
 * Parses one request: a JSON object {"op":..., "channel":..., "data":...,
 * "id":...}, where op is "subscribe", "unsubscribe" or "publish", channel
 * a string (not needed by "auth", which takes a string "token" instead),
 * data (required for publish) any JSON value and id (optional) a string or
 * number; "last_seq" (optional, a non-negative integer) asks a subscribe to
 * resume after that message. Unknown members are ignored, but the whole
 * input must be valid JSON (data is forwarded to other clients as is).
 *
 * When the request is not usable, req->error says why,
 * checked in the order of the list above ("bad json" also covers inputs
 * that are not an object, nesting deeper than 256 and a repeated op,
 * channel, data or id member). On failure only req->error and req->id are
 * set: the id whenever it was read and valid, so the error reply can
 * carry it.
 *
 * A channel written with escape sequences ("room\u003a1", "a\"b") is
 * refused as "bad channel": the name must point into the input. So names
 * holding '"' or '\\' cannot be reached through this protocol.
 *
 * The input is copied into a padded buffer (simdjson reads up to 64 bytes
 * past the end); the buffer and the JSON parser live in p, reused from
 * request to request, and big ones are released after use. Nothing of
 * req points into p.
 *
 * Returns WSCORE_OK when the request is usable, WSCORE_ERROR when not
 * (p NULL included: "out of memory").
 */
typedef struct wscore_ctl_parser_s wscore_ctl_parser_t;

/* One per worker (or thread); NULL when out of memory. */
wscore_ctl_parser_t *wscore_ctl_parser_create(void);
void wscore_ctl_parser_destroy(wscore_ctl_parser_t *p);

wscore_rc_t wscore_ctl_parse(wscore_ctl_parser_t *p, const char *json,
    size_t len, wscore_ctl_request_t *req);

/*
 * Writers of server replies. Each returns the bytes the reply needs and
 * writes it only when that fits in cap (out may be NULL to size it first).
 * Strings are JSON-escaped; they must be valid UTF-8. id and data_json are
 * raw JSON copied as is (id.data == NULL writes null).
 *
 *   {"op":"ack","id":<id>[,"seq":N]}          seq 0 = omitted
 *   {"op":"error","id":<id>,"code":"...","message":"..."}
 *   {"op":"message","channel":"...","seq":N,"data":<data_json>}
 *   {"op":"gap","channel":"...","from":N,"to":M}   (history lost: a
 *                                   resuming subscriber misses N..M)
 */
size_t wscore_ctl_write_ack(char *out, size_t cap, wscore_str_t id,
    uint64_t seq);
size_t wscore_ctl_write_error(char *out, size_t cap, wscore_str_t id,
    const char *code, const char *message);
size_t wscore_ctl_write_message(char *out, size_t cap, wscore_str_t channel,
    uint64_t seq, wscore_str_t data_json);

size_t wscore_ctl_write_gap(char *out, size_t cap, wscore_str_t channel,
    uint64_t from, uint64_t to);

/* Right before a 1001, per channel: every message up to last_seq was sent.
 *   {"op":"going_away","channel":"...","last_seq":N} */
size_t wscore_ctl_write_going_away(char *out, size_t cap,
    wscore_str_t channel, uint64_t last_seq);

/* The same with data given as UTF-8 text, written as a JSON string:
 *   {"op":"message","channel":"...","seq":N,"data":"<text, escaped>"} */
size_t wscore_ctl_write_text_message(char *out, size_t cap,
    wscore_str_t channel, uint64_t seq, wscore_str_t text);

/*
 * Replies to a request a backend answered (rpc, send, a subscribe the
 * backend allowed) or refused:
 *
 *   {"op":"ack","id":<id>[,"seq":N][,"data":<data>]}
 *       data omitted when data.len is 0; written as is when data_is_json
 *       (the caller checked it with wscore_ctl_json_valid), else as a JSON
 *       string (it must be valid UTF-8)
 *   {"op":"error","id":<id>,"code":"...","status":N,"message":"..."}
 *       message: valid UTF-8, escaped
 */
size_t wscore_ctl_write_ack_data(char *out, size_t cap, wscore_str_t id,
    uint64_t seq, wscore_str_t data, int data_is_json);
size_t wscore_ctl_write_status_error(char *out, size_t cap, wscore_str_t id,
    const char *code, unsigned status, wscore_str_t message);

/*
 * Is json exactly one JSON value (object, array, string, number, true,
 * false or null; whitespace around it allowed; nesting at most 256)?
 * 1 or 0 (also when p is NULL). Uses p's buffers like wscore_ctl_parse.
 */
int wscore_ctl_json_valid(wscore_ctl_parser_t *p, const char *json,
    size_t len);

/* Is the whole of data valid UTF-8 (RFC 3629)? 1 or 0. */
int wscore_utf8_valid(const uint8_t *data, size_t len);


/* ------------------------------------------------------------------ */
/* Tokens: JSON Web Tokens (RFC 7515 compact form, RFC 7519 claims)    */
/* ------------------------------------------------------------------ */

/*
 * A token reader: the decoded parts of the last token and the JSON parser,
 * reused from token to token. The caller creates one per worker and
 * passes it to every call below; strings the calls hand out live in it
 * until its next call. NULL when out of memory.
 */
typedef struct wscore_jwt_reader_s wscore_jwt_reader_t;

wscore_jwt_reader_t *wscore_jwt_reader_create(void);
void wscore_jwt_reader_destroy(wscore_jwt_reader_t *j);

/* Longer tokens are refused (a token is a header value or URL argument). */
#define WSCORE_JWT_MAX_LEN 8192

typedef struct {
    wscore_str_t alg;            /* the header's "alg" */
    wscore_str_t signing_input;  /* "header.payload", points into token */
    wscore_str_t header;         /* decoded JSON */
    wscore_str_t payload;        /* decoded JSON: the claims */
    wscore_str_t signature;      /* decoded bytes (may be empty) */
} wscore_jwt_parts_t;

/*
 * Checks the form of a token, in this order (the first rule broken is
 * reported in *why, a static string for the log): at most
 * WSCORE_JWT_MAX_LEN bytes; three base64url segments (no padding), header
 * and payload not empty; header and payload decode to JSON objects; the
 * header has a string "alg" and no "crit" (RFC 7515 section 4.1.11); the
 * payload does not repeat "sub"; the signature decodes. WSCORE_OK and
 * parts filled, or WSCORE_ERROR. The signature is NOT checked: the
 * caller verifies signing_input against signature with a key whose
 * algorithm is alg, so the token alone never chooses the algorithm.
 */
wscore_rc_t wscore_jwt_parse(wscore_jwt_reader_t *j, const char *token,
    size_t len, wscore_jwt_parts_t *parts, const char **why);

typedef struct {
    wscore_str_t issuer;     /* "iss" must equal it; empty: not checked */
    wscore_str_t audience;   /* "aud" (string or list) must hold it;
                                empty: not checked */
    uint64_t     leeway_s;   /* clock skew allowed on "exp" and "nbf" */
} wscore_jwt_policy_t;

typedef struct {
    int64_t      exp;        /* "exp", at most 10^12; 0: none */
    wscore_str_t sub;        /* "sub"; data NULL when absent */
} wscore_jwt_claims_t;

/*
 * Applies the claim policy of RFC 7519 section 4.1 to a payload at now_s
 * (seconds since the epoch): "exp" a non-negative number and now before
 * exp + leeway; "nbf" a number and now + leeway at or after it; "iss" and
 * "aud" as the policy says; "sub", when present, a string of 1-250 bytes
 * (it names the user channel "user:<sub>"); no claim read is repeated.
 * WSCORE_OK and claims filled, or WSCORE_ERROR with *why (static).
 */
wscore_rc_t wscore_jwt_check_claims(wscore_jwt_reader_t *j,
    const wscore_jwt_policy_t *policy, const char *payload, size_t len,
    int64_t now_s, wscore_jwt_claims_t *claims, const char **why);

typedef enum {
    WSCORE_CLAIM_ABSENT = 0,
    WSCORE_CLAIM_STRING,
    WSCORE_CLAIM_NUMBER,
    WSCORE_CLAIM_BOOL,
    WSCORE_CLAIM_NULL,
    WSCORE_CLAIM_ARRAY,
    WSCORE_CLAIM_OBJECT
} wscore_claim_type_e;

typedef struct {
    wscore_claim_type_e type;
    wscore_str_t        text;    /* strings unescaped, other values as
                                    minified JSON; lives in the reader
                                    until its next call */
    double              number;  /* WSCORE_CLAIM_NUMBER */
} wscore_claim_t;

/*
 * Looks up the member name of json, which must be one valid JSON object
 * of at most 16 KiB (the whole document is validated). WSCORE_OK and
 * claim filled (type ABSENT when there is no such member), or
 * WSCORE_ERROR when json is not a valid object or repeats the member.
 * Also reads JOSE headers.
 */
wscore_rc_t wscore_claim_get(wscore_jwt_reader_t *j, const char *json,
    size_t len, const char *name, size_t nlen, wscore_claim_t *claim);

/*
 * Visits each string of a member that is a string or an array of strings
 * ("aud", a list of channel patterns); *count (may be NULL) is how many
 * were visited, 0 when the member is absent. WSCORE_ERROR when json is
 * invalid or the member is of another type (then nothing is visited).
 */
typedef void (*wscore_claim_visit_pt)(void *ctx, const char *s, size_t len);
wscore_rc_t wscore_claim_strings(wscore_jwt_reader_t *j, const char *json,
    size_t len, const char *name, size_t nlen, wscore_claim_visit_pt visit,
    void *ctx, size_t *count);

/*
 * Does the claim of json (one channel pattern, or a list of them, in the
 * syntax of wscore_channel_pattern_match) allow channel? 1 or 0; a
 * missing claim, an invalid document or a claim of another type allow
 * nothing.
 */
int wscore_claim_allows_channel(wscore_jwt_reader_t *j, const char *json,
    size_t len, const char *claim, size_t clen, const char *channel,
    size_t chlen);


/* ------------------------------------------------------------------ */
/* Rate limits: a token bucket as plain data (fits shared memory)      */
/* ------------------------------------------------------------------ */

typedef struct {
    uint64_t units;          /* tokens held, in 1/60000 */
    uint64_t last_ms;        /* when it was last refilled */
    uint64_t started;        /* 0: new, starts full */
} wscore_bucket_t;

/*
 * Refills b at rate_per_min tokens a minute (60 x the rate per second)
 * up to burst tokens (at least 1),
 * then takes cost tokens if it holds that many: returns 1, else 0 and
 * takes nothing. now_ms is a monotonic clock in milliseconds; a value
 * older than the last one adds nothing. Rates, bursts and costs are
 * clamped to 2^40. A zeroed bucket starts full.
 */
int wscore_bucket_take(wscore_bucket_t *b, uint64_t rate_per_min,
    uint64_t burst, uint64_t cost, uint64_t now_ms);


/* ------------------------------------------------------------------ */
/* Backend hooks: the text an HTTP backend is sent and answers with    */
/* ------------------------------------------------------------------ */

/*
 * The next element of a comma-separated list (RFC 9110 section 5.6.1) in
 * data: whitespace around it trimmed, empty elements skipped. Returns the
 * bytes consumed (the element and its comma) with *element set, or 0 when
 * no element is left.
 */
size_t wscore_list_next(const char *data, size_t len, wscore_str_t *element);

/* A name for "WS-Meta-<name>": an HTTP token of 1 to 64 bytes. 1 or 0. */
int wscore_meta_name_valid(const char *name, size_t len);

/* A value fit for a header and a JSON string: UTF-8, no control
 * characters but tab. 1 or 0. */
int wscore_meta_value_valid(const char *value, size_t len);

/*
 * Does a Content-Type name JSON: application/json or any "+json" subtype
 * (RFC 6839), letters in any case, parameters ignored? 1 or 0.
 */
int wscore_media_type_is_json(const char *type, size_t len);

typedef struct {
    wscore_str_t name;
    wscore_str_t value;
} wscore_pair_t;

typedef struct {
    uint64_t             connection_id;
    uint16_t             code;          /* 1006: no close frame */
    const char          *closed_by;     /* "client", "server" or "none" */
    uint64_t             duration_ms;
    uint64_t             messages_in;
    uint64_t             messages_out;
    uint64_t             bytes_in;
    uint64_t             bytes_out;
    wscore_str_t         user;          /* data NULL: null */
    const wscore_pair_t *meta;
    size_t               meta_n;
} wscore_close_event_t;

/*
 * The close hook's body, one JSON object:
 *   {"event":"close","connection_id":"N","code":N,"closed_by":"client",
 *    "duration_ms":N,"messages_in":N,"messages_out":N,"bytes_in":N,
 *    "bytes_out":N,"user":"..."|null,"meta":{"<name>":"<value>",...}}
 * Returns the bytes it needs; writes only when that fits in cap (out may
 * be NULL to size it first). Strings must be valid UTF-8.
 */
size_t wscore_close_event_write(char *out, size_t cap,
    const wscore_close_event_t *ev);


/* ------------------------------------------------------------------ */
/* Backend hooks: a message hook's answer                              */
/* ------------------------------------------------------------------ */

typedef enum {
    WSCORE_MESSAGE_DROP = 0,  /* 204, or a 2xx without a body */
    WSCORE_MESSAGE_KEEP,      /* 304: the original goes its usual way */
    WSCORE_MESSAGE_REPLACE,   /* a 2xx with a body: it goes instead */
    WSCORE_MESSAGE_REFUSE,    /* 4xx: refused, the body says why */
    WSCORE_MESSAGE_FAIL       /* 5xx, 1xx, 3xx but 304: the call failed */
} wscore_message_verdict_e;

wscore_message_verdict_e wscore_message_verdict(unsigned status,
    size_t body_len);

/* "WS-Opcode: text|binary": WSCORE_OP_TEXT, WSCORE_OP_BINARY or 0. */
int wscore_answer_opcode(const char *value, size_t len);

/*
 * "WS-Close: <code> [reason]": 1 with *code (a valid close code a server
 * may send, not 1010) and *reason (in value, valid UTF-8 of at most 123
 * bytes), or 0.
 */
int wscore_close_request_parse(const char *value, size_t len,
    uint16_t *code, wscore_str_t *reason);

/* The length of the longest start of text that is valid UTF-8 and at
 * most max bytes. */
size_t wscore_utf8_prefix(const char *text, size_t len, size_t max);

/* ------------------------------------------------------------------ */
/* W3C Trace Context: the traceparent header                           */
/* ------------------------------------------------------------------ */

/* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define WSCORE_TRACEPARENT_LEN  55
#define WSCORE_TRACE_SAMPLED    0x01

typedef struct {
    uint8_t  trace_id[16];
    uint8_t  parent_id[8];     /* the span that made the request */
    uint8_t  flags;
} wscore_trace_context_t;

/* A traceparent header value: 1 and *ctx when valid (lowercase hex, ids
 * not all zeros, version not ff, version 00 exactly 55 characters), else
 * 0 and the receiver starts a trace of its own. */
int wscore_traceparent_parse(const char *value, size_t len,
    wscore_trace_context_t *ctx);

/* Turns len random bytes the caller drew into a valid id in place: only
 * an all-zero id changes (to ...01), which the spec forbids. */
void wscore_trace_id_from_random(uint8_t *id, size_t len);

/* Writes the WSCORE_TRACEPARENT_LEN characters of
 * "00-<trace_id>-<span_id>-<flags>" (no terminating NUL). */
void wscore_traceparent_format(const uint8_t trace_id[16],
    const uint8_t span_id[8], uint8_t flags, char *out);

/* Lowercase hex of n bytes, 2n characters (no terminating NUL). */
void wscore_trace_hex(const uint8_t *bytes, size_t n, char *out);


#ifdef __cplusplus
}
#endif

#endif /* WSCORE_H */
