#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/address.h"
#include "hbone/byte_queue.h"
#include "hbone/client_session.h"
#include "hbone/event_loop.h"
#include "hbone/keepalive.h"
#include "hbone/proxy_counters.h"
#include "hbone/tls_context.h"
#include "hbone/tls_socket.h"

namespace meshgate::hbone {

class ClientPool;

// An HBONE connection to a ztunnel: TCP, TLS 1.3 with the server's SPIFFE id checked, then a
// ClientSession. Streams asked for before the handshake ends wait for it; a connection that
// fails fails them all.
class ClientConnection final : public EventLoop::Handler {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto handshake_timeout = std::chrono::seconds(10);

    ClientConnection(ClientPool& pool, EventLoop& loop, ProxyCounters& counters, std::shared_ptr<const TlsContext> tls,
                     const SocketAddress& destination, std::string identity);
    ~ClientConnection() override;

    // Whether a new stream may go on this connection.
    bool accepts() const;
    void add(HboneUpstream& link);
    void unqueue(HboneUpstream& link);
    void on_events(uint32_t events) override;
    void tick(Clock::time_point now);
    bool idle_since(Clock::time_point before) const;
    void close();  // now: fails what is open
    bool failed() const { return closed_; }

private:
    bool start();
    void handshake();
    void read();
    void pump();
    void watch();

    ClientPool& pool_;
    EventLoop& loop_;
    ProxyCounters& counters_;
    std::shared_ptr<const TlsContext> tls_context_;
    SocketAddress destination_;
    std::string identity_;
    std::unique_ptr<TlsSocket> tls_;
    int fd_ = -1;
    bool connected_ = false, closed_ = false, ended_ = false, tls_wants_write_ = false;
    bool busy_ = false, pump_again_ = false;  // inside read or pump: a nested pump() waits for the outer one
    uint32_t watched_ = 0;
    Clock::time_point deadline_;
    Clock::time_point created_ = Clock::now();
    std::unique_ptr<ClientSession> session_;  // once TLS is up
    std::optional<Keepalive> keepalive_;       // from then
    ByteQueue out_;
    std::vector<HboneUpstream*> pending_;     // before that
};

}  // namespace meshgate::hbone
