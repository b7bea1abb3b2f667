#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hbone/byte_queue.h"
#include "hbone/connect_session.h"
#include "hbone/proxy_counters.h"
#include "hbone/upstream_link.h"

typedef struct nghttp2_session nghttp2_session;

namespace meshgate::hbone {

class ClientConnection;
class ClientSession;

// One CONNECT stream of a pooled HBONE connection, as the far side of a server stream.
class HboneUpstream final : public UpstreamLink {
public:
    static constexpr size_t buffer = 256 << 10;  // bytes waiting for the remote side, per stream
    static constexpr auto connect_timeout = std::chrono::seconds(10);

    HboneUpstream(UpstreamEvents& events, int32_t owner_stream, std::string authority, ConnectHeaders headers);
    ~HboneUpstream() override;

    size_t write(std::span<const uint8_t> bytes) override;
    void shutdown_write() override;
    void resume() override;
    bool expired(Clock::time_point now) const override { return !answered_ && now >= deadline_; }

private:
    friend class ClientConnection;
    friend class ClientSession;
    friend class DoubleHboneUpstream;
    friend struct ClientCallbacks;
    // The stream is over for the connection: it no longer knows this link.
    void detach();
    // Gives the owner what it has room for; returns how much it took.
    size_t deliver(std::span<const uint8_t> bytes);

    UpstreamEvents& events_;
    const int32_t owner_stream_;
    const std::string authority_;
    const ConnectHeaders headers_;
    const Clock::time_point deadline_;
    ClientConnection* waiting_on_ = nullptr;  // queued until its connection's handshake ends
    ClientSession* session_ = nullptr;        // once submitted, until the stream is over
    int32_t id_ = -1;                         // its HTTP/2 stream
    int status_ = 0;
    bool answered_ = false, write_shut_ = false, remote_done_ = false, wants_writable_ = false, over_ = false;
    ByteQueue to_remote, from_remote;
};

// The client side of one HBONE connection once TLS is up: HTTP/2 with ztunnel's settings and a
// CONNECT stream per HboneUpstream. Bytes in and out belong to the caller (the TLS connection,
// or a fuzz target): no socket, no thread. What the streams' owners must hear of is told after
// each receive() or output_to(), never from inside nghttp2.
class ClientSession {
public:
    // `wake`: there may be output; called only outside receive() and output_to().
    ClientSession(ProxyCounters& counters, std::function<void()> wake);
    ~ClientSession();
    ClientSession(const ClientSession&) = delete;
    ClientSession& operator=(const ClientSession&) = delete;

    // Submits the link's CONNECT; false (and the link told it failed) when nghttp2 refuses.
    bool add(HboneUpstream& link);
    // What the server sent. False: a protocol error; the connection is to be closed.
    bool receive(std::span<const uint8_t> bytes);
    // What to send the server, appended to `out` until it holds at least `limit` bytes.
    void output_to(ByteQueue& out, size_t limit);
    bool wants_output() const;
    // Tells the streams' owners what the last receive()/output_to() brought: writable again,
    // answers, bytes, ends.
    void notify();
    // The connection is gone: every link fails (or, if answered, breaks).
    void fail_all();

    // Keepalive: a PING, and whether its ACK is still awaited (the owner keeps the time).
    void send_ping();
    bool awaiting_ping() const { return awaiting_ping_; }

    size_t streams() const { return streams_.size(); }
    bool going_away() const { return goaway_; }
    std::chrono::steady_clock::time_point last_stream() const { return last_stream_; }

private:
    friend class HboneUpstream;
    friend struct ClientCallbacks;
    void touched(HboneUpstream& link) { touched_.push_back(&link.events_); }
    void forget(HboneUpstream& link);
    void wake();

    ProxyCounters& counters_;
    std::function<void()> wake_;
    nghttp2_session* session_ = nullptr;
    std::map<int32_t, HboneUpstream*> streams_;  // by HTTP/2 stream id
    std::vector<UpstreamEvents*> touched_;       // owners to tell after this round
    bool busy_ = false;                          // inside receive() or output_to()
    bool goaway_ = false;
    bool awaiting_ping_ = false;
    std::chrono::steady_clock::time_point last_stream_ = std::chrono::steady_clock::now();
};

}  // namespace meshgate::hbone
