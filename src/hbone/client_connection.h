#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/address.h"
#include "hbone/byte_queue.h"
#include "hbone/connect_session.h"
#include "hbone/event_loop.h"
#include "hbone/proxy_counters.h"
#include "hbone/tls_context.h"
#include "hbone/tls_socket.h"
#include "hbone/upstream_link.h"

typedef struct nghttp2_session nghttp2_session;

namespace meshgate::hbone {

class ClientPool;
class ClientConnection;

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
    friend struct ClientCallbacks;

    UpstreamEvents& events_;
    const int32_t owner_stream_;
    const std::string authority_;
    const ConnectHeaders headers_;
    const Clock::time_point deadline_;
    ClientConnection* connection_ = nullptr;  // null once the stream is over
    int32_t id_ = -1;                         // its HTTP/2 stream, once submitted
    int status_ = 0;
    bool answered_ = false, write_shut_ = false, remote_done_ = false, wants_writable_ = false, failed_ = false;
    ByteQueue to_remote, from_remote;
};

// An HBONE connection to a ztunnel (gateway and waypoint roles): TCP, TLS 1.3 with the
// server's SPIFFE id checked, then HTTP/2 with ztunnel's settings; CONNECT streams for
// HboneUpstreams. Streams asked for before the handshake ends wait for it; a handshake that
// fails fails them all.
class ClientConnection final : public EventLoop::Handler {
public:
    using Clock = std::chrono::steady_clock;

    ClientConnection(ClientPool& pool, EventLoop& loop, ProxyCounters& counters, std::shared_ptr<const TlsContext> tls,
                     const SocketAddress& destination, std::string identity);
    ~ClientConnection() override;

    // Whether a new stream may go on this connection.
    bool accepts() const;
    void add(HboneUpstream& link);
    void on_events(uint32_t events) override;
    void tick(Clock::time_point now);
    bool idle_since(Clock::time_point before) const { return streams_.empty() && pending_.empty() && last_stream_ < before; }
    void close();  // now: fails what is open
    bool failed() const { return closed_; }

private:
    friend class HboneUpstream;
    friend struct ClientCallbacks;

    bool start();
    bool flush();
    void handshake();
    void begin_session();
    void submit(HboneUpstream& link);
    void read();
    void pump();
    void watch();
    void forget(HboneUpstream& link);
    void fail_all();
    void touched(HboneUpstream& link) { touched_.push_back(&link.events_); }

    ClientPool& pool_;
    EventLoop& loop_;
    ProxyCounters& counters_;
    std::shared_ptr<const TlsContext> tls_context_;
    SocketAddress destination_;
    std::string identity_;
    std::unique_ptr<TlsSocket> tls_;
    int fd_ = -1;
    bool connected_ = false, secure_ = false, goaway_ = false, closed_ = false, ended_ = false, tls_wants_write_ = false;
    bool busy_ = false, pump_again_ = false;  // inside mem_recv or pump: a nested pump() waits for the outer one
    uint32_t watched_ = 0;
    Clock::time_point deadline_;
    Clock::time_point last_stream_ = Clock::now();
    nghttp2_session* session_ = nullptr;
    ByteQueue out_;
    std::vector<HboneUpstream*> pending_;           // before the handshake ends
    std::map<int32_t, HboneUpstream*> streams_;     // by HTTP/2 stream id
    std::vector<UpstreamEvents*> touched_;          // owners to pump after this round
};

}  // namespace meshgate::hbone
