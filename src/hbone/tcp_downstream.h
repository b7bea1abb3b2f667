#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "core/address.h"
#include "hbone/byte_queue.h"
#include "hbone/connect_target.h"
#include "hbone/event_loop.h"
#include "hbone/upstream_link.h"

namespace meshgate::hbone {

class ConnectionOwner;

// One plain TCP connection to a VIP:port of a `forwarding = "hbone"` service (gateway role).
// The node's kernel accepted it: the data plane leaves such VIPs to the kernel. Its bytes go to
// the endpoint over the upstream open_upstream() gives, as a CONNECT stream's would: through
// the endpoint's ztunnel, by double HBONE, or over TCP to an endpoint outside the mesh, with
// `forwarded: for=<client>`. The client is read only once the tunnel is up and only while the
// link takes the bytes; at most `buffer` bytes wait for a slow client. A failed connect resets
// the client, as a closed port would.
class TcpDownstream final : public EventLoop::Handler, private UpstreamEvents {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr size_t buffer = 256 << 10;

    TcpDownstream(ConnectionOwner& owner, int fd, const SocketAddress& client, const ConnectDecision& decision);
    ~TcpDownstream() override;
    TcpDownstream(const TcpDownstream&) = delete;
    TcpDownstream& operator=(const TcpDownstream&) = delete;

    // Over already (its upstream could not even start): the owner drops it.
    bool ended() const { return ended_; }
    void on_events(uint32_t events) override;
    void tick(Clock::time_point now);
    void abort() { end(true); }

private:
    void upstream_connected(int32_t, Outcome outcome) override;
    size_t upstream_room(int32_t) override;
    size_t upstream_data(int32_t, std::span<const uint8_t> bytes) override;
    void upstream_closed(int32_t) override;
    void upstream_failed(int32_t) override { end(true); }
    void upstream_writable(int32_t) override { read_client(); }
    void upstream_pump() override { flush_client(); }

    void read_client();   // client → link, while the link takes
    void flush_client();  // link → client; a FIN once the far side is done and all is sent
    void watch();
    void end(bool reset);

    ConnectionOwner& owner_;
    const int fd_;
    uint32_t endpoint_ = UINT32_MAX;
    std::unique_ptr<UpstreamLink> link_;
    ByteQueue to_client_;
    ByteQueue to_link_;  // read from the client, not yet taken by the link (at most one read)
    bool registered_ = false, up_ = false, client_done_ = false, link_shut_ = false, far_done_ = false;
    bool fin_sent_ = false, ended_ = false;
    uint32_t watched_ = 0;
};

}  // namespace meshgate::hbone
