// Session: one WebSocket connection after the 101, server side, or the
// client side (a proxy's link to its upstream: the peer's frames must be
// unmasked, ours are masked with keys from the caller's mask source).
//
// Sans-I/O: bytes and "now" go in; events, output bytes and the next
// deadline come out. The session owns two buffers: the reassembly buffer
// (message payload, unmasked, plus the payload of a control frame parked
// after it while it is reported) and the output (the control frames the
// core produced itself: pongs, pings, close frames).

#ifndef WSCORE_SESSION_HPP
#define WSCORE_SESSION_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "byte_buffer.hpp"
#include "deflate_offer.hpp"
#include "frame_parser.hpp"
#include "message_inflater.hpp"
#include "utf8_validator.hpp"
#include "wscore.h"

namespace wscore {

class Session {
public:
    // Buffers are trimmed back to nothing after holding more than this.
    static constexpr std::size_t kept_buffer_capacity = 16 * 1024;
    // A frame whose payload comes in several reads has room for all of it
    // from its first read when the rest is at most this (see take_payload).
    static constexpr std::size_t frame_reserve_max = 1024 * 1024;
    // The reassembly buffer is 32-bit sized; "no limit" means this.
    static constexpr std::uint64_t max_buffered_message =
        ByteBuffer::max_size - 1024;

    Session(const wscore_config_t &cfg, std::uint64_t now_ms) noexcept;

    // sink: see wscore_payload_sink_t (null: every message goes through
    // the reassembly buffer).
    std::size_t receive(std::span<const std::uint8_t> data,
        std::uint64_t now_ms, wscore_event_t &ev,
        const wscore_payload_sink_t *sink = nullptr) noexcept;

    // Where the rest of a large data frame's payload may be received
    // straight into the reassembly buffer, at most max bytes (empty when
    // it may not be): see wscore_session_receive_window.
    std::span<std::uint8_t> receive_window(std::size_t max) noexcept;
    // n bytes were received there: see wscore_session_received.
    void received(std::size_t n, std::uint64_t now_ms, wscore_event_t &ev)
        noexcept;

    // The block holding the MESSAGE just reported from the reassembly
    // buffer, for the caller to keep: see wscore_session_take_message.
    std::uint8_t *take_message() noexcept;

    std::span<const std::uint8_t> output() const noexcept
    {
        return output_.bytes();
    }
    void output_consumed(std::size_t n) noexcept;

    void close(std::uint16_t code, std::string_view reason,
        std::uint64_t now_ms) noexcept;

    wscore_state_e state() const noexcept
    {
        return static_cast<wscore_state_e>(state_);
    }
    std::uint16_t close_code() const noexcept;
    bool in_message() const noexcept { return message_opcode_ != 0; }
    std::uint64_t next_deadline() const noexcept;
    wscore_timer_result_e on_timer(std::uint64_t now_ms) noexcept;

    // permessage-deflate was negotiated: from now on RSV1 on the first
    // frame of a data message means the message is compressed. False when
    // memory runs out (the session is unchanged). A client session (after
    // act_as_client) inflates with the server's agreed window and context
    // takeover, a server session with the client's.
    bool enable_deflate(const DeflateParams &params) noexcept;

    // The session is the client: from now on the peer's frames must be
    // unmasked and the control frames the session writes are masked with
    // a fresh key from source (the caller's, outliving the session). Call
    // before the first byte.
    void act_as_client(const wscore_mask_source_t *source) noexcept;

    // Large messages are reported in pieces (FRAGMENT events) instead of
    // being reassembled: see wscore_session_stream_messages.
    void stream_messages(bool on) noexcept { stream_ = on; }

    // The peer's close waits for the caller's answer (close()): see
    // wscore_session_answer_close_later.
    void answer_close_later(bool on) noexcept { answer_later_ = on; }
    bool close_pending() const noexcept { return answer_pending_; }

    // For the memory tests: what the session holds on the heap.
    std::size_t buffered_capacity() const noexcept
    {
        return message_.capacity() + output_.capacity();
    }

    // What the decompressor holds now (0 without deflate, and between
    // messages when the client compresses without context takeover).
    std::size_t inflater_memory() const noexcept
    {
        return inflater_ ? sizeof(MessageInflater) + inflater_->memory() : 0;
    }

private:
    // fragment: a streamed piece; the buffer is emptied but keeps its
    // capacity for the next piece.
    enum class LastEvent : std::uint8_t { none, message, control, fragment };

    // Why the peer's input is refused: the close code and the log text.
    struct Failure {
        std::uint16_t code = 0;
        const char *why = nullptr;
        explicit operator bool() const noexcept { return why != nullptr; }
    };

    Failure begin_frame(const FrameHeader &header) noexcept;
    bool placeable(const FrameHeader &header, std::size_t available) const
        noexcept;
    bool place_whole_frame(const WholeFrame &frame,
        std::span<const std::uint8_t> in, const wscore_payload_sink_t &sink,
        std::uint64_t now_ms, wscore_event_t &ev) noexcept;
    void report_placed(wscore_opcode_e opcode, const std::uint8_t *dst,
        std::size_t n, wscore_event_t &ev) noexcept;
    bool place_message(std::span<const std::uint8_t> in, std::size_t &used,
        const wscore_payload_sink_t &sink, std::uint64_t now_ms,
        wscore_event_t &ev) noexcept;
    Failure take_payload(std::span<const std::uint8_t> in,
        std::size_t &used) noexcept;
    void peer_is_alive(std::uint64_t now_ms) noexcept
    {
        pings_missed_ = 0;
        ping_due_ms_ = now_ms + ping_interval_ms_;
    }
    Failure take_compressed_payload(std::span<const std::uint8_t> in,
        std::size_t &used, bool text) noexcept;
    Failure inflate_result(MessageInflater::Result result,
        std::size_t produced_from, bool text) noexcept;
    std::uint64_t message_limit() const noexcept
    {
        return max_message_size_ != 0
            ? std::min<std::uint64_t>(max_message_size_, max_buffered_message)
            : max_buffered_message;
    }
    std::uint64_t inflate_limit() const noexcept;
    bool stream_piece(wscore_opcode_e opcode, bool fin, wscore_event_t &ev)
        noexcept;
    bool finish_frame(std::uint64_t now_ms, wscore_event_t &ev) noexcept;
    bool finish_control_frame(std::uint64_t now_ms, wscore_event_t &ev)
        noexcept;
    void answer_close(std::uint16_t code, std::string_view reason) noexcept;
    void queue_our_close(std::uint16_t code, std::string_view reason)
        noexcept;
    void release_last_event() noexcept;
    void fail(std::uint16_t code, const char *why, wscore_event_t &ev)
        noexcept;
    void fail(Failure failure, wscore_event_t &ev) noexcept
    {
        fail(failure.code, failure.why, ev);
    }
    bool queue_frame(Opcode opcode, std::span<const std::uint8_t> payload)
        noexcept;
    bool queue_close(std::uint16_t code, std::string_view reason) noexcept;
    void start_close(std::uint16_t code, std::string_view reason,
        std::uint64_t now_ms) noexcept;
    void enter_closed() noexcept;

    // Heap buffers (16 bytes each).
    ByteBuffer message_;
    ByteBuffer output_;

    FrameParser parser_;                  // 24 bytes

    // permessage-deflate: null unless negotiated (8 bytes).
    std::unique_ptr<MessageInflater> inflater_;

    // Client side only: where mask keys come from (8 bytes).
    const wscore_mask_source_t *mask_source_ = nullptr;

    // Limits and timers, from wscore_config_t. Intervals are kept in
    // 32 bits: clamped at ~49 days, far beyond any sensible setting.
    std::uint64_t ping_due_ms_ = 0;
    std::uint64_t idle_due_ms_ = 0;
    std::uint64_t close_due_ms_ = 0;
    // Sizes are kept in 32 bits too: a message is capped below 4 GiB
    // (max_buffered_message), and no frame may be larger than a message.
    std::uint32_t max_frame_size_;
    std::uint32_t max_message_size_;
    std::uint32_t ping_interval_ms_;
    std::uint32_t idle_timeout_ms_;
    std::uint32_t close_timeout_ms_;
    std::uint16_t ping_max_missed_;
    std::uint16_t pings_missed_ = 0;

    std::uint16_t sent_close_code_ = 0;      // 0 = we sent no close
    std::uint16_t received_close_code_ = 0;  // 0 = peer sent no close
    Utf8Validator utf8_;                     // state of the text message
    std::uint8_t control_len_ = 0;           // payload of current control
    std::uint8_t state_ : 2 = WSCORE_STATE_OPEN;
    std::uint8_t message_opcode_ : 2 = 0;    // 0 = no message in progress
    LastEvent last_event_ : 2 = LastEvent::none;
    bool we_closed_first_ : 1 = false;
    bool rsv1_allowed_ : 1 = false;
    bool stream_ : 1 = false;                // stream large messages
    bool streaming_message_ : 1 = false;     // this one is being streamed
    bool answer_later_ : 1 = false;          // the caller answers closes
    bool answer_pending_ : 1 = false;        // the peer's close awaits it
    // Payload of the message being streamed already reported (below 4 GiB:
    // message_limit() bounds it as it bounds the buffer).
    std::uint32_t streamed_bytes_ = 0;
};

}  // namespace wscore

#endif
