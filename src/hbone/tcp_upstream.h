#pragma once

#include "core/address.h"
#include "hbone/event_loop.h"
#include "hbone/proxy_counters.h"
#include "hbone/upstream_link.h"

namespace meshgate::hbone {

// A CONNECT stream's plain TCP connection to its endpoint: non-blocking connect (with a
// deadline), then bytes both ways. Read only while the owner has room, so a slow client stops
// the endpoint rather than filling meshgate's memory.
class TcpUpstream final : public UpstreamLink, private EventLoop::Handler {
public:
    static constexpr auto connect_timeout = std::chrono::seconds(10);

    // nullptr when no socket could be made or connect() failed at once.
    static std::unique_ptr<TcpUpstream> open(EventLoop& loop, UpstreamEvents& events, ProxyCounters& counters, int32_t stream,
                                             const IpAddress& address, uint16_t port);
    ~TcpUpstream() override;

    size_t write(std::span<const uint8_t> bytes) override;
    void shutdown_write() override;
    void resume() override;
    bool expired(Clock::time_point now) const override { return connecting_ && now >= deadline_; }

private:
    TcpUpstream(EventLoop& loop, UpstreamEvents& events, ProxyCounters& counters, int32_t stream, int fd);
    void on_events(uint32_t events) override;
    void read();
    void watch();

    EventLoop& loop_;
    UpstreamEvents& events_;
    ProxyCounters& counters_;
    const int32_t stream_;
    const int fd_;
    const Clock::time_point deadline_;
    bool connecting_ = true, wants_write_ = false, read_done_ = false, paused_ = false;
    bool watched_ = false;
    uint32_t watched_events_ = 0;
};

}  // namespace meshgate::hbone
