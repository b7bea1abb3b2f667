#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/config.h"
#include "hbone/byte_queue.h"
#include "hbone/connect_target.h"

typedef struct nghttp2_session nghttp2_session;

namespace meshgate::hbone {

// What HBONE's CONNECT request carries besides its target (istio-semantics.md §8.4), passed on.
struct ConnectHeaders {
    std::string forwarded, baggage, traceparent;
    std::string forwarded_network;  // x-forwarded-network: only on a double-HBONE inner CONNECT
};

// The byte streams behind the tunnels: what a ConnectSession asks of its owner, per stream.
class Upstreams {
public:
    virtual ~Upstreams() = default;
    // A CONNECT stream was admitted: open its upstream, then call ConnectSession::connected().
    virtual void open(int32_t stream, const ConnectDecision& decision, const ConnectHeaders& headers) = 0;
    // Bytes from the client; returns how many the upstream took now (the rest is offered again
    // after ConnectSession::upstream_writable()).
    virtual size_t write(int32_t stream, std::span<const uint8_t> bytes) = 0;
    // The client half-closed its side and every byte before it was written.
    virtual void shutdown_write(int32_t stream) = 0;
    // The stream is over (closed, reset or refused): release its upstream.
    virtual void close(int32_t stream) = 0;
    // The stream was answered `status` (for the counters).
    virtual void answered(int32_t /*stream*/, int /*status*/) {}
};

// The server side of one HBONE connection once TLS is up (waypoint role): HTTP/2 with the
// settings of istio-semantics.md §8.2, CONNECT streams decided by decide_connect() and spliced
// to upstream byte streams with flow control both ways. Bytes in and out belong to the caller
// (the TLS connection, or a test's pipe): no socket, no thread, no clock.
//
// Memory is bounded: a client can have at most a stream window (4 MiB) in flight per stream
// and a connection window (16 MiB) in all, because a window is given back only when the
// upstream took the bytes; an upstream's bytes wait at most `upstream_buffer` per stream.
class ConnectSession {
public:
    static constexpr uint32_t max_concurrent_streams = 200;
    static constexpr int32_t stream_window = 4 << 20, connection_window = 16 << 20;
    static constexpr uint32_t max_frame_size = 1 << 20, max_header_list_size = 64 << 10;
    static constexpr size_t upstream_buffer = 256 << 10;
    // A connection is closed (GOAWAY ENHANCE_YOUR_CALM) once at least this many requests came
    // and half of them or more were reset by the client before their answer.
    static constexpr uint64_t premature_reset_floor = 500;

    // The configuration a request is decided by: the newest one when it arrives.
    using ConfigSource = std::function<const Config&()>;

    ConnectSession(ConfigSource config, std::vector<std::string> client_identities, Upstreams& upstreams);
    ConnectSession(const Config& config, std::vector<std::string> client_identities, Upstreams& upstreams)
        : ConnectSession([&config]() -> const Config& { return config; }, std::move(client_identities), upstreams) {}
    ~ConnectSession();
    ConnectSession(const ConnectSession&) = delete;
    ConnectSession& operator=(const ConnectSession&) = delete;

    // What the client sent. False: a protocol error; send what output() has, then close.
    bool receive(std::span<const uint8_t> bytes);
    // What to send the client now (empty: nothing); drained by each call.
    std::vector<uint8_t> output();
    // The same, appended to `out` until it holds at least `limit` bytes: the rest waits in
    // the streams (bounded by upstream_buffer each) until the client reads.
    void output_to(ByteQueue& out, size_t limit);
    // Whether the connection is over (both sides done, or GOAWAY sent and no stream left).
    bool finished() const;

    // From the owner: the upstream of `stream` is connected (200) or failed (503; the owner has
    // released it: close() is not called for it).
    void connected(int32_t stream, bool ok, const std::string& reason = {});
    // Bytes from the upstream; returns how many were taken (at most upstream_room()).
    size_t upstream_data(int32_t stream, std::span<const uint8_t> bytes);
    size_t upstream_room(int32_t stream) const;
    // The upstream closed its side: the stream ends once its bytes are sent.
    void upstream_closed(int32_t stream);
    // The upstream can take bytes again.
    void upstream_writable(int32_t stream);
    // The upstream broke (reset, error): the stream is reset with CONNECT_ERROR.
    void upstream_failed(int32_t stream);
    // Keepalive (istio-semantics.md §8.2): a PING, and whether its ACK is still awaited. The
    // owner keeps the time.
    void send_ping();
    bool awaiting_ping() const { return awaiting_ping_; }
    // The streams open now (admitted or not yet answered).
    size_t streams() const { return streams_.size(); }

    // Status answered, by code: what the counters show.
    const std::map<int, uint64_t>& answers() const { return answers_; }

private:
    struct Stream {
        std::string method, authority;
        ConnectHeaders headers;
        bool admitted = false, connected = false, client_done = false, write_shut = false;
        bool upstream_done = false;
        bool answered = false;  // a response was submitted
        ByteQueue to_upstream;  // the client's bytes the upstream has not taken
        ByteQueue to_client;    // the upstream's bytes not yet in DATA frames
    };
    friend struct SessionCallbacks;
    void request_complete(int32_t stream);
    void answer(int32_t stream, int status, bool with_body);
    void flush_to_upstream(int32_t stream, Stream& s);
    void premature_reset();

    ConfigSource config_;
    std::vector<std::string> identities_;
    Upstreams& upstreams_;
    nghttp2_session* session_ = nullptr;
    std::map<int32_t, Stream> streams_;
    std::map<int, uint64_t> answers_;
    bool awaiting_ping_ = false;
    uint64_t requests_ = 0, premature_resets_ = 0;
    bool reset_flood_ = false;
    std::vector<int32_t> unflushed_;  // streams given bytes by this receive(), written at its end
};

}  // namespace meshgate::hbone
