#include "session.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "close_payload.hpp"
#include "frame_encoder.hpp"
#include "unmask.hpp"

namespace wscore {

// The budget is what an idle connection costs besides its (usually empty)
// buffers: 136 bytes on x86-64 today, 8 of them the client side's mask
// source (a proxy's upstream link), NULL in every server session.
static_assert(sizeof(Session) <= 136, "session state over its budget");

namespace {

constexpr const char *out_of_memory = "out of memory";

// Compressed payload is unmasked through a stack buffer of this size on
// its way into the inflater.
constexpr std::size_t unmask_chunk = 4096;

// Deflate can make incompressible data slightly larger (5 bytes per
// stored block of up to 64 KiB): the compressed size of a message may
// exceed the message limit by this much before it is refused as such.
constexpr std::uint64_t compressed_slack(std::uint64_t limit) noexcept
{
    return limit / 256 + 64;
}

std::uint32_t clamp_to_32_bits(std::uint64_t v) noexcept
{
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, UINT32_MAX));
}

// The reason we put in our own close frame: short and generic, because the
// detailed cause belongs in our log, not on the wire.
std::string_view wire_reason(std::uint16_t code) noexcept
{
    switch (code) {
    case WSCORE_CLOSE_PROTOCOL_ERROR: return "protocol error";
    case WSCORE_CLOSE_INVALID_PAYLOAD: return "invalid payload data";
    case WSCORE_CLOSE_MESSAGE_TOO_BIG: return "message too big";
    default: return "internal error";
    }
}

// Deadlines are absolute times, but 0 means "none" in the C API, so a
// deadline that falls at time 0 is reported as 1.
std::uint64_t as_deadline(std::uint64_t t) noexcept { return t ? t : 1; }

}  // namespace

Session::Session(const wscore_config_t &cfg, std::uint64_t now_ms) noexcept
    : max_frame_size_(clamp_to_32_bits(cfg.max_frame_size)),
      max_message_size_(clamp_to_32_bits(cfg.max_message_size)),
      ping_interval_ms_(clamp_to_32_bits(cfg.ping_interval_ms)),
      idle_timeout_ms_(clamp_to_32_bits(cfg.idle_timeout_ms)),
      close_timeout_ms_(clamp_to_32_bits(cfg.close_timeout_ms)),
      ping_max_missed_(static_cast<std::uint16_t>(
          std::clamp<std::uint32_t>(cfg.ping_max_missed, 1, UINT16_MAX)))
{
    ping_due_ms_ = now_ms + ping_interval_ms_;
    idle_due_ms_ = now_ms + idle_timeout_ms_;
}

// [[gnu::hot]]: on every message's way; GCC gathers such functions in
// .text.hot, so the per-message code spans a few pages (NGX_HTTP_WS_HOT in
// the module says why that matters).
[[gnu::hot]]
std::size_t Session::receive(std::span<const std::uint8_t> data,
    std::uint64_t now_ms, wscore_event_t &ev,
    const wscore_payload_sink_t *sink) noexcept
{
    ev = wscore_event_t{};
    ev.type = WSCORE_EVENT_NONE;
    if (last_event_ != LastEvent::none || state_ == WSCORE_STATE_CLOSED) {
        release_last_event();  // not a call when there is nothing to do
    }
    if (state_ == WSCORE_STATE_CLOSED || answer_pending_) {
        // after its close frame the peer has nothing more to say
        return data.size();
    }
    if (!data.empty()) {
        // Any byte from the peer proves it is alive.
        peer_is_alive(now_ms);
    }

    // The usual message first: one small frame, all of it in this input.
    if (sink != nullptr && state_ == WSCORE_STATE_OPEN && !in_message()
        && parser_.between_frames()) {
        if (const std::optional<WholeFrame> frame =
                parser_.whole_data_frame(data)) {
            if (place_whole_frame(*frame, data, *sink, now_ms, ev)) {
                return frame->header_len + frame->payload_len;
            }
            // Over a limit (the parse below says so), or the sink had no
            // memory: it is asked once per call.
            sink = nullptr;
        }
    }

    std::size_t used = 0;
    for (;;) {
        if (!parser_.header_done()) {
            if (used == data.size()) {
                return used;
            }
            const FrameParser::HeaderStep step =
                parser_.parse_header(data.subspan(used), rsv1_allowed_);
            used += step.consumed;
            if (step.status == FrameParser::Status::error) {
                fail(WSCORE_CLOSE_PROTOCOL_ERROR, step.error, ev);
                return used;
            }
            if (step.status == FrameParser::Status::need_more) {
                return used;
            }
            if (const Failure failure = begin_frame(step.header)) {
                fail(failure, ev);
                return used;
            }
            if (sink != nullptr
                && placeable(step.header, data.size() - used)
                && place_message(data, used, *sink, now_ms, ev)) {
                return used;
            }
        }
        if (parser_.payload_remaining() > 0) {
            if (used == data.size()) {
                return used;
            }
            if (const Failure failure = take_payload(data, used)) {
                fail(failure, ev);
                return used;
            }
            if (parser_.payload_remaining() > 0) {
                // the input ran out inside the frame: what it brought
                // goes on now if the message is streamed
                if (!is_control(parser_.opcode())) {
                    stream_piece(static_cast<wscore_opcode_e>(
                        message_opcode_), false, ev);
                }
                return used;
            }
        }
        if (finish_frame(now_ms, ev)) {
            return used;
        }
    }
}

// Inside the payload of an uncompressed data frame, what is left of it may
// be received where it ends up anyway, the end of the reassembly buffer:
// no copy from a read buffer, and reads as large as the frame. Its limits
// were checked with its header (begin_frame), so the room reserved is no
// more than the peer may send; compressed payload goes through the
// inflater, and control payload is at most 125 bytes. A streamed message
// (a proxy's) keeps its pieces to what one read of the caller's own buffer
// brings, which bounds what the proxy holds per connection: no window.
std::span<std::uint8_t> Session::receive_window(std::size_t max) noexcept
{
    if (last_event_ != LastEvent::none || state_ == WSCORE_STATE_CLOSED) {
        release_last_event();
    }
    if (state_ == WSCORE_STATE_CLOSED || answer_pending_ || stream_
        || !parser_.header_done() || parser_.payload_remaining() == 0
        || is_control(parser_.opcode())
        || (inflater_ && inflater_->message_compressed)) {
        return {};
    }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(
        parser_.payload_remaining(), max));
    std::uint8_t *room = message_.reserve(n);
    if (room == nullptr) {
        return {};  // the usual path reports the lack of memory
    }
    return {room, n};
}

// What take_payload and the end of receive() do for payload that came
// through a read buffer: unmasked (in place here), text checked as it
// comes, so bad UTF-8 fails at the read that brought it, and the frame
// finished once all of it is in.
[[gnu::hot]]
void Session::received(std::size_t n, std::uint64_t now_ms,
    wscore_event_t &ev) noexcept
{
    ev = wscore_event_t{};
    ev.type = WSCORE_EVENT_NONE;
    if (n == 0) {
        return;
    }
    if (n > parser_.payload_remaining()
        || n > message_.capacity() - message_.size()) {
        // more than a window ever holds: the caller's mistake, not the peer's
        fail(WSCORE_CLOSE_INTERNAL_ERROR, "received more than the window",
             ev);
        return;
    }
    peer_is_alive(now_ms);
    const std::size_t at = message_.size();
    message_.commit(n);
    const std::span<std::uint8_t> piece{message_.data() + at, n};
    parser_.read_payload(piece, piece);
    if (message_opcode_ == WSCORE_OP_TEXT && utf8_.feed(piece)) {
        fail(WSCORE_CLOSE_INVALID_PAYLOAD, "invalid UTF-8 in text message",
             ev);
        return;
    }
    if (parser_.payload_remaining() > 0) {
        stream_piece(static_cast<wscore_opcode_e>(message_opcode_), false,
                     ev);
        return;
    }
    finish_frame(now_ms, ev);
}

// Checks the rules that need more than the header itself: fragment order
// and the size limits, which are decided here, before any payload byte is
// buffered.
Session::Failure Session::begin_frame(const FrameHeader &header) noexcept
{
    constexpr auto protocol_error = WSCORE_CLOSE_PROTOCOL_ERROR;
    constexpr auto too_big = WSCORE_CLOSE_MESSAGE_TOO_BIG;

    if (is_control(header.opcode)) {
        // RSV1 on a control frame was refused by the parser already.
        control_len_ = static_cast<std::uint8_t>(header.payload_len);
        return {};
    }
    if (header.opcode == Opcode::continuation) {
        if (!in_message()) {
            return {protocol_error, "continuation without message"};
        }
        // RFC 7692 section 6.1: only the first frame carries the bit.
        if (header.rsv1) {
            return {protocol_error, "RSV1 set on a continuation frame"};
        }
    } else {
        if (in_message()) {
            return {protocol_error, "data frame inside fragmented message"};
        }
        message_opcode_ = static_cast<std::uint8_t>(header.opcode);
        streaming_message_ = false;
        streamed_bytes_ = 0;
        utf8_.reset();
        if (inflater_) {
            inflater_->message_compressed = header.rsv1;
            inflater_->compressed_bytes = 0;
        }
    }
    if (max_frame_size_ != 0 && header.payload_len > max_frame_size_) {
        return {too_big, "frame too large"};
    }
    const std::uint64_t limit = message_limit();
    if (inflater_ && inflater_->message_compressed) {
        // The inflated size is checked while inflating; this bounds the
        // compressed bytes, so a peer cannot stream a message that never
        // produces output.
        const std::uint64_t cap = limit + compressed_slack(limit);
        if (header.payload_len > cap - inflater_->compressed_bytes) {
            return {too_big, "compressed message too large"};
        }
        inflater_->compressed_bytes += header.payload_len;
        return {};
    }
    // Between data frames the buffer holds exactly the message so far,
    // but for the pieces of it already streamed.
    if (header.payload_len > limit - streamed_bytes_ - message_.size()) {
        return {too_big, "message too large"};
    }
    return {};
}

// What inflating may still add to the buffer: the message limit less the
// pieces already streamed.
std::uint64_t Session::inflate_limit() const noexcept
{
    return message_limit() - streamed_bytes_;
}

bool Session::enable_deflate(const DeflateParams &params) noexcept
{
    // The inflater allocates nothing until the first compressed message.
    // It inflates what the peer compressed: a client's messages on the
    // server side, the server's when this session is a client (which is
    // why act_as_client comes first).
    const bool peer_is_server = mask_source_ != nullptr;
    auto *inflater = new (std::nothrow) MessageInflater(
        peer_is_server ? params.server_max_window_bits
                       : params.client_max_window_bits,
        peer_is_server ? params.server_no_context_takeover
                       : params.client_no_context_takeover);
    if (inflater == nullptr) {
        return false;
    }
    inflater_.reset(inflater);
    rsv1_allowed_ = true;
    return true;
}

// A message the caller's sink may take: one uncompressed frame, all of it
// in this input, while there is a caller to report it to. The sink's
// buffer is then filled and reported within this call, so the core never
// holds on to it, and its size is bounded by input already received.
bool Session::placeable(const FrameHeader &header, std::size_t available)
    const noexcept
{
    return header.fin && !header.rsv1 && state_ == WSCORE_STATE_OPEN
        && (header.opcode == Opcode::text || header.opcode == Opcode::binary)
        && header.payload_len <= available;
}

// A message in one frame that whole_data_frame recognised: checked against
// the limits as begin_frame checks a first frame, unmasked into the sink's
// buffer, validated and reported as place_message does, without stepping
// the parser through it (it stays between frames). False, with nothing
// changed, when the frame is over a limit or the sink has no memory.
[[gnu::hot]]
bool Session::place_whole_frame(const WholeFrame &frame,
    std::span<const std::uint8_t> in, const wscore_payload_sink_t &sink,
    std::uint64_t now_ms, wscore_event_t &ev) noexcept
{
    const std::size_t n = frame.payload_len;
    if ((max_frame_size_ != 0 && n > max_frame_size_)
        || n > message_limit() - message_.size()) {
        return false;
    }
    const auto opcode = static_cast<wscore_opcode_e>(frame.opcode);
    std::uint8_t *dst = sink.alloc(sink.ctx, opcode, n);
    if (dst == nullptr) {
        return false;
    }
    const std::span<const std::uint8_t> payload = in.subspan(frame.header_len,
        n);
    if (frame.key != nullptr) {
        MaskKey key;
        std::memcpy(key.data(), frame.key, 4);
        unmask_copy({dst, n}, payload, key, 0);
    } else if (n != 0) {
        std::memcpy(dst, payload.data(), n);
    }
    idle_due_ms_ = now_ms + idle_timeout_ms_;
    if (inflater_) {
        inflater_->message_compressed = false;
    }
    utf8_.reset();
    report_placed(opcode, dst, n, ev);
    return true;
}

// Unmasks the whole message into the sink's buffer and reports it: what
// take_payload and finish_frame do for a message in one frame. False when
// the sink has no memory for it (nothing consumed, nothing changed).
bool Session::place_message(std::span<const std::uint8_t> in,
    std::size_t &used, const wscore_payload_sink_t &sink,
    std::uint64_t now_ms, wscore_event_t &ev) noexcept
{
    const auto opcode = static_cast<wscore_opcode_e>(message_opcode_);
    const auto n = static_cast<std::size_t>(parser_.payload_remaining());
    std::uint8_t *dst = sink.alloc(sink.ctx, opcode, n);
    if (dst == nullptr) {
        return false;
    }
    parser_.read_payload(in.subspan(used, n), {dst, n});
    used += n;
    parser_.next_frame();
    message_opcode_ = 0;
    idle_due_ms_ = now_ms + idle_timeout_ms_;
    report_placed(opcode, dst, n, ev);
    return true;
}

// A whole message unmasked into the sink's buffer: a text one is checked
// as UTF-8 (the validator fresh for it), then reported, or the session
// fails with 1007.
[[gnu::hot]]
void Session::report_placed(wscore_opcode_e opcode, const std::uint8_t *dst,
    std::size_t n, wscore_event_t &ev) noexcept
{
    if (opcode == WSCORE_OP_TEXT) {
        if (utf8_.feed({dst, n})) {
            fail(WSCORE_CLOSE_INVALID_PAYLOAD,
                 "invalid UTF-8 in text message", ev);
            return;
        }
        if (!utf8_.at_boundary()) {
            fail(WSCORE_CLOSE_INVALID_PAYLOAD,
                 "truncated UTF-8 sequence at end of text message", ev);
            return;
        }
    }
    ev.type = WSCORE_EVENT_MESSAGE;
    ev.opcode = opcode;
    ev.data = dst;
    ev.len = n;
    ev.placed = 1;
}

// Unmasks the next piece of payload into the reassembly buffer; text is
// validated right away so bad UTF-8 fails at the first invalid byte.
Session::Failure Session::take_payload(std::span<const std::uint8_t> in,
    std::size_t &used) noexcept
{
    const bool text = !is_control(parser_.opcode())
        && message_opcode_ == WSCORE_OP_TEXT;
    if (inflater_ && inflater_->message_compressed
        && !is_control(parser_.opcode())) {
        return take_compressed_payload(in, used, text);
    }
    const std::uint64_t remaining = parser_.payload_remaining();
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(
        remaining, in.size() - used));
    if (n < remaining && remaining <= frame_reserve_max) {
        // The rest of the frame comes in later reads: room for all of it
        // now, in one block, instead of a reallocation (and a copy of what
        // came so far) at the next read. A frame that fits the kept
        // capacity leaves a buffer the next one fits without allocating.
        // A larger frame is left to the read window, which reserves its
        // rest at the next read; reserving part of it here would only
        // make that a second growth. Failure leaves the buffer as it was,
        // for extend() to report.
        message_.reserve(static_cast<std::size_t>(remaining));
    }
    std::uint8_t *dst = message_.extend(n);
    if (dst == nullptr) {
        return {WSCORE_CLOSE_INTERNAL_ERROR, out_of_memory};
    }
    parser_.read_payload(in.subspan(used, n), {dst, n});
    used += n;
    if (text && utf8_.feed({dst, n})) {
        return {WSCORE_CLOSE_INVALID_PAYLOAD, "invalid UTF-8 in text message"};
    }
    return {};
}

// Compressed payload: unmasked in chunks on the stack, inflated into the
// reassembly buffer, which is held to the message limit while inflating.
Session::Failure Session::take_compressed_payload(
    std::span<const std::uint8_t> in, std::size_t &used, bool text) noexcept
{
    std::uint8_t chunk[unmask_chunk];
    std::size_t left = static_cast<std::size_t>(std::min<std::uint64_t>(
        parser_.payload_remaining(), in.size() - used));
    while (left > 0) {
        const std::size_t n = std::min(left, sizeof chunk);
        parser_.read_payload(in.subspan(used, n), {chunk, n});
        used += n;
        left -= n;
        const std::size_t before = message_.size();
        const MessageInflater::Result result = inflater_->inflate(
            {chunk, n}, message_, inflate_limit());
        if (const Failure failure = inflate_result(result, before, text)) {
            return failure;
        }
    }
    return {};
}

Session::Failure Session::inflate_result(MessageInflater::Result result,
    std::size_t produced_from, bool text) noexcept
{
    switch (result) {
    case MessageInflater::Result::ok:
        break;
    case MessageInflater::Result::too_big:
        return {WSCORE_CLOSE_MESSAGE_TOO_BIG, "message too large when inflated"};
    case MessageInflater::Result::corrupt:
        return {WSCORE_CLOSE_INVALID_PAYLOAD, "invalid compressed data"};
    case MessageInflater::Result::no_memory:
        return {WSCORE_CLOSE_INTERNAL_ERROR, out_of_memory};
    }
    if (text && utf8_.feed(message_.bytes().subspan(produced_from))) {
        return {WSCORE_CLOSE_INVALID_PAYLOAD, "invalid UTF-8 in text message"};
    }
    return {};
}

// Called when a frame's payload is complete. Returns true when ev holds
// an event for the caller.
bool Session::finish_frame(std::uint64_t now_ms, wscore_event_t &ev) noexcept
{
    const Opcode opcode = parser_.opcode();
    const bool fin = parser_.fin();
    parser_.next_frame();
    if (is_control(opcode)) {
        return finish_control_frame(now_ms, ev);
    }
    idle_due_ms_ = now_ms + idle_timeout_ms_;
    const auto message_opcode = static_cast<wscore_opcode_e>(message_opcode_);
    if (!fin) {
        return stream_piece(message_opcode, false, ev);
    }
    if (inflater_ && inflater_->message_compressed) {
        const std::size_t before = message_.size();
        const Failure failure = inflate_result(
            inflater_->finish_message(message_, inflate_limit()), before,
            message_opcode == WSCORE_OP_TEXT);
        if (failure) {
            fail(failure, ev);
            return true;
        }
    }
    message_opcode_ = 0;
    if (message_opcode == WSCORE_OP_TEXT && !utf8_.at_boundary()) {
        fail(WSCORE_CLOSE_INVALID_PAYLOAD,
             "truncated UTF-8 sequence at end of text message", ev);
        return true;
    }
    if (state_ == WSCORE_STATE_CLOSING) {
        // We are closing: the peer's late messages are validated but
        // nobody is there to take them.
        message_.clear_and_trim(kept_buffer_capacity);
        streaming_message_ = false;
        return false;
    }
    if (streaming_message_) {
        streaming_message_ = false;
        ev.type = WSCORE_EVENT_FRAGMENT;
        ev.opcode = message_opcode;
        ev.data = message_.data();
        ev.len = message_.size();
        ev.fin = 1;
        last_event_ = LastEvent::message;
        return true;
    }
    ev.type = WSCORE_EVENT_MESSAGE;
    ev.opcode = message_opcode;
    ev.data = message_.data();
    ev.len = message_.size();
    last_event_ = LastEvent::message;
    return true;
}

// A streamed message's payload so far, as a FRAGMENT that is not its last:
// once it is streamed, or when this piece takes it to the threshold. While
// we are closing, nobody takes the pieces: they are dropped as they come.
// True when ev holds a piece.
bool Session::stream_piece(wscore_opcode_e opcode, bool fin,
    wscore_event_t &ev) noexcept
{
    if (!streaming_message_
        && (!stream_ || fin || message_.size() < WSCORE_STREAM_THRESHOLD)) {
        return false;
    }
    const bool first = !streaming_message_;
    streaming_message_ = true;
    if (message_.empty()) {
        return false;
    }
    streamed_bytes_ += static_cast<std::uint32_t>(message_.size());
    if (state_ != WSCORE_STATE_OPEN) {
        message_.clear();
        return false;
    }
    ev.type = WSCORE_EVENT_FRAGMENT;
    ev.opcode = opcode;
    ev.data = message_.data();
    ev.len = message_.size();
    ev.first = first ? 1 : 0;
    last_event_ = LastEvent::fragment;
    return true;
}

bool Session::finish_control_frame(std::uint64_t now_ms,
    wscore_event_t &ev) noexcept
{
    // The control payload sits at the end of the reassembly buffer, after
    // any fragmented message in progress; release_last_event drops it.
    const std::span<const std::uint8_t> payload =
        control_len_ == 0 ? std::span<const std::uint8_t>{}
                          : message_.bytes().last(control_len_);
    last_event_ = LastEvent::control;
    ev.data = payload.data();
    ev.len = payload.size();

    switch (parser_.opcode()) {
    case Opcode::ping:
        // Once our close is out we send nothing more, pongs included.
        if (state_ == WSCORE_STATE_OPEN && !queue_frame(Opcode::pong, payload)) {
            fail(WSCORE_CLOSE_INTERNAL_ERROR, out_of_memory, ev);
            return true;
        }
        ev.type = WSCORE_EVENT_PING;
        return true;
    case Opcode::pong:
        ev.type = WSCORE_EVENT_PONG;
        return true;
    default:
        break;
    }

    const ReceivedClose close = parse_close_payload(payload);
    if (close.error != nullptr) {
        fail(close.error_close_code, close.error, ev);
        return true;
    }
    received_close_code_ = close.code;
    if (state_ == WSCORE_STATE_OPEN && answer_later_) {
        // the caller answers; until then we wait as for an answer of ours
        answer_pending_ = true;
        state_ = WSCORE_STATE_CLOSING;
        message_opcode_ = 0;
        close_due_ms_ = now_ms + close_timeout_ms_;
    } else if (state_ == WSCORE_STATE_OPEN) {
        // Echo the peer's code; an empty close gets an empty close.
        if (close.code == WSCORE_CLOSE_NO_STATUS) {
            queue_frame(Opcode::close, {});
        } else {
            queue_close(close.code, {});
        }
        sent_close_code_ = close.code;
    }
    if (!answer_pending_) {
        enter_closed();
    }
    ev.type = WSCORE_EVENT_CLOSE;
    ev.close_code = close.code;
    ev.data = close.reason.empty() ? nullptr : close.reason.data();
    ev.len = close.reason.size();
    return true;
}

// Only a whole message reported from the reassembly buffer is handed out:
// a streamed piece or a control payload shares the buffer with what is
// still to come. The next message starts a new buffer, as it would after
// one larger than kept_buffer_capacity.
std::uint8_t *Session::take_message() noexcept
{
    if (last_event_ != LastEvent::message || streamed_bytes_ != 0) {
        return nullptr;
    }
    last_event_ = LastEvent::none;
    return message_.take();
}

void Session::release_last_event() noexcept
{
    switch (last_event_) {
    case LastEvent::message:
        message_.clear_and_trim(kept_buffer_capacity);
        break;
    case LastEvent::control:
        message_.truncate(message_.size() - control_len_);
        break;
    case LastEvent::fragment:
        message_.clear();
        break;
    case LastEvent::none:
        break;
    }
    last_event_ = LastEvent::none;
    if (state_ == WSCORE_STATE_CLOSED) {
        message_.release();
        if (inflater_) {
            inflater_->release();
        }
    }
}

void Session::fail(std::uint16_t code, const char *why, wscore_event_t &ev)
    noexcept
{
    if (state_ == WSCORE_STATE_OPEN) {
        queue_close(code, wire_reason(code));
        sent_close_code_ = code;
        we_closed_first_ = true;
    }
    enter_closed();
    ev = wscore_event_t{};
    ev.type = WSCORE_EVENT_ERROR;
    ev.close_code = code;
    ev.error = why;
}

void Session::enter_closed() noexcept
{
    state_ = WSCORE_STATE_CLOSED;
    message_opcode_ = 0;
}

void Session::act_as_client(const wscore_mask_source_t *source) noexcept
{
    mask_source_ = source;
    parser_.expect_server_frames();
}

bool Session::queue_frame(Opcode opcode,
    std::span<const std::uint8_t> payload) noexcept
{
    if (mask_source_ != nullptr) {
        std::uint8_t key[4];
        mask_source_->key(mask_source_->ctx, key);
        const std::size_t len = client_frame_len(payload.size());
        std::uint8_t *dst = output_.extend(len);
        if (dst == nullptr) {
            return false;
        }
        encode_client_frame({dst, len}, opcode, true, false, payload, key);
        return true;
    }
    std::uint8_t header[max_server_header_len];
    const std::size_t header_len = encode_frame_header(
        std::span<std::uint8_t, max_server_header_len>{header}, opcode, true,
        false, payload.size());
    std::uint8_t *dst = output_.extend(header_len + payload.size());
    if (dst == nullptr) {
        return false;
    }
    std::memcpy(dst, header, header_len);
    if (!payload.empty()) {
        std::memcpy(dst + header_len, payload.data(), payload.size());
    }
    return true;
}

bool Session::queue_close(std::uint16_t code, std::string_view reason)
    noexcept
{
    std::uint8_t payload[max_close_payload];
    const std::size_t len = encode_close_payload(code, reason,
        std::span<std::uint8_t, max_close_payload>{payload});
    return queue_frame(Opcode::close, {payload, len});
}

void Session::output_consumed(std::size_t n) noexcept
{
    output_.erase_front(n);
    if (output_.empty()) {
        output_.clear_and_trim(kept_buffer_capacity);
    }
}

void Session::close(std::uint16_t code, std::string_view reason,
    std::uint64_t now_ms) noexcept
{
    if (state_ == WSCORE_STATE_OPEN) {
        start_close(code, reason, now_ms);
    } else if (answer_pending_) {
        answer_close(code, reason);
    }
}

// The answer to the peer's close, given by the caller.
void Session::answer_close(std::uint16_t code, std::string_view reason)
    noexcept
{
    queue_our_close(code, reason);
    answer_pending_ = false;
    enter_closed();
}

// Codes a peer must reject (1005, 1006, 0, ...) never go on the wire: we
// send a close without a status instead.
void Session::queue_our_close(std::uint16_t code, std::string_view reason)
    noexcept
{
    if (is_valid_close_code(code)) {
        queue_close(code, reason);
        sent_close_code_ = code;
    } else {
        queue_frame(Opcode::close, {});
        sent_close_code_ = WSCORE_CLOSE_NO_STATUS;
    }
}

void Session::start_close(std::uint16_t code, std::string_view reason,
    std::uint64_t now_ms) noexcept
{
    queue_our_close(code, reason);
    we_closed_first_ = true;
    state_ = WSCORE_STATE_CLOSING;
    close_due_ms_ = now_ms + close_timeout_ms_;
}

std::uint16_t Session::close_code() const noexcept
{
    if (we_closed_first_) {
        return sent_close_code_;
    }
    if (received_close_code_ != 0) {
        return received_close_code_;
    }
    return WSCORE_CLOSE_ABNORMAL;
}

std::uint64_t Session::next_deadline() const noexcept
{
    switch (state_) {
    case WSCORE_STATE_CLOSING:
        return as_deadline(close_due_ms_);
    case WSCORE_STATE_OPEN: {
        std::uint64_t deadline = 0;
        if (ping_interval_ms_ != 0) {
            deadline = ping_due_ms_;
        }
        if (idle_timeout_ms_ != 0 && (deadline == 0 || idle_due_ms_ < deadline)) {
            deadline = idle_due_ms_;
        }
        return ping_interval_ms_ || idle_timeout_ms_ ? as_deadline(deadline)
                                                      : 0;
    }
    default:
        return 0;
    }
}

wscore_timer_result_e Session::on_timer(std::uint64_t now_ms) noexcept
{
    if (state_ == WSCORE_STATE_CLOSING) {
        if (now_ms < close_due_ms_) {
            return WSCORE_TIMER_NONE;
        }
        if (answer_pending_) {
            answer_close(received_close_code_, {});
            return WSCORE_TIMER_CLOSE_ANSWERED;
        }
        enter_closed();
        return WSCORE_TIMER_CLOSE_EXPIRED;
    }
    if (state_ != WSCORE_STATE_OPEN) {
        return WSCORE_TIMER_NONE;
    }
    if (idle_timeout_ms_ != 0 && now_ms >= idle_due_ms_) {
        start_close(WSCORE_CLOSE_GOING_AWAY, "idle timeout", now_ms);
        return WSCORE_TIMER_IDLE;
    }
    if (ping_interval_ms_ != 0 && now_ms >= ping_due_ms_) {
        if (pings_missed_ >= ping_max_missed_) {
            start_close(WSCORE_CLOSE_GOING_AWAY, "ping timeout", now_ms);
            return WSCORE_TIMER_UNRESPONSIVE;
        }
        if (!queue_frame(Opcode::ping, {})) {
            // Cannot even queue 2 bytes: treat like an unresponsive peer.
            start_close(WSCORE_CLOSE_GOING_AWAY, "ping timeout", now_ms);
            return WSCORE_TIMER_UNRESPONSIVE;
        }
        ++pings_missed_;
        ping_due_ms_ = now_ms + ping_interval_ms_;
        return WSCORE_TIMER_PING_SENT;
    }
    return WSCORE_TIMER_NONE;
}

}  // namespace wscore
