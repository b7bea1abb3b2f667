#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>

#include "core/address.h"
#include "hbone/byte_queue.h"
#include "hbone/catalog.h"
#include "hbone/connect_session.h"
#include "hbone/event_loop.h"
#include "hbone/keepalive.h"
#include "hbone/proxy_counters.h"
#include "hbone/tls_socket.h"
#include "hbone/upstream_link.h"

namespace meshgate::hbone {

class ServerConnection;
class ClientPool;
class TcpDownstream;

// What a server connection needs of the thread that runs it.
class ConnectionOwner {
public:
    virtual ~ConnectionOwner() = default;
    virtual EventLoop& loop() = 0;
    virtual ProxyCounters& counters() = 0;
    // The newest catalog; valid until the loop's current round of events ends.
    virtual const Catalog& catalog() = 0;
    // A fresh hash for a new stream's endpoint choice.
    virtual uint64_t stream_hash() = 0;
    // The thread's pool of HBONE connections to endpoints' ztunnels (hbone = true).
    virtual ClientPool& pool() = 0;
    // How a connect to endpoint `endpoint` (its index in the catalog's Config) went: outlier
    // detection's input.
    virtual void connect_outcome(uint32_t endpoint, lb::ConnectResult result) = 0;
    // The connection is over: the owner forgets it (and retires it into the loop).
    virtual void closed(ServerConnection& connection) = 0;
    virtual void closed(TcpDownstream& connection) = 0;
};

// One accepted HBONE connection (waypoint role): the TLS handshake and the client's checks,
// then its ConnectSession, with an upstream link per admitted CONNECT stream: a TCP connection
// to the endpoint, or a stream of a pooled HBONE connection to the endpoint's ztunnel.
//
// Nothing waits on a slow side: bytes for the client wait in `out_` (at most `output_limit`
// plus one frame) and in the session's per-stream buffers; an upstream is read only while its
// stream has room, and the client only while `out_` is below the limit.
class ServerConnection final : public EventLoop::Handler, private Upstreams, private UpstreamEvents {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto handshake_timeout = std::chrono::seconds(10);
    static constexpr size_t output_limit = 256 << 10;

    ServerConnection(ConnectionOwner& owner, int fd, SSL* ssl, const SocketAddress& peer);
    ~ServerConnection() override;

    void on_events(uint32_t events) override;
    // Deadlines: the handshake's, and each connecting upstream's.
    void tick(Clock::time_point now);
    // Ends the connection now (meshgated stops).
    void abort() { end(); }

private:
    void handshake();
    void read_client();
    // Moves the session's output to the client and re-arms every socket; ends the connection
    // when it is over.
    void pump();
    bool write_client();
    void watch_client();
    void end();

    // Upstreams (ConnectSession's side of the tunnels).
    void open(int32_t stream, const ConnectDecision& decision, const ConnectHeaders& headers) override;
    size_t write(int32_t stream, std::span<const uint8_t> bytes) override;
    void shutdown_write(int32_t stream) override;
    void close(int32_t stream) override;
    void answered(int32_t stream, int status) override;

    // UpstreamEvents (the links' side).
    void upstream_connected(int32_t stream, Outcome outcome) override;
    size_t upstream_room(int32_t stream) override;
    size_t upstream_data(int32_t stream, std::span<const uint8_t> bytes) override;
    void upstream_closed(int32_t stream) override;
    void upstream_failed(int32_t stream) override;
    void upstream_writable(int32_t stream) override;
    void upstream_pump() override;
    void release(int32_t stream);

    ConnectionOwner& owner_;
    TlsSocket tls_;
    SocketAddress peer_;
    bool ended_ = false;
    bool tls_wants_write_ = false;
    bool read_stopped_early_ = false;  // read_client() left before OpenSSL asked for the socket
    bool pumping_ = false, pump_again_ = false;
    uint32_t watched_ = 0;
    Clock::time_point handshake_deadline_;
    Keepalive keepalive_{Clock::now()};
    std::unique_ptr<ConnectSession> session_;
    ByteQueue out_;
    std::map<int32_t, std::unique_ptr<UpstreamLink>> upstreams_;
    struct LinkState {
        uint32_t endpoint = 0;  // index in the catalog's Config::endpoints
        bool up = false;
    };
    std::map<int32_t, LinkState> links_;  // of upstreams_
};

}  // namespace meshgate::hbone
