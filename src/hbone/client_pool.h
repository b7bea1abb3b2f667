#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/address.h"
#include "hbone/connect_session.h"
#include "hbone/event_loop.h"
#include "hbone/proxy_counters.h"
#include "hbone/tls_context.h"
#include "hbone/upstream_link.h"

namespace meshgate::hbone {

class ClientConnection;

// One thread's HBONE connections to other nodes' ztunnels (istio-semantics.md §8.3): pooled by
// (destination address, expected identity), at most 100 streams on each, a new connection when
// all are full or going away, released after 5 minutes without a stream.
class ClientPool {
public:
    static constexpr uint32_t max_streams = 100;
    static constexpr auto idle_release = std::chrono::minutes(5);

    ClientPool(EventLoop& loop, ProxyCounters& counters, std::function<std::shared_ptr<const TlsContext>()> tls);
    ~ClientPool();

    // A CONNECT `authority` stream to `destination`, whose certificate must carry `identity`;
    // the result is reported to `events` for `stream`. nullptr when it cannot even start.
    std::unique_ptr<UpstreamLink> open(UpstreamEvents& events, int32_t stream, const SocketAddress& destination,
                                       const std::string& identity, const std::string& authority, const ConnectHeaders& headers);
    // Deadlines and idle release.
    void tick(std::chrono::steady_clock::time_point now);
    // The connection is over: forget it.
    void closed(ClientConnection& connection);
    size_t connections() const { return owned_.size(); }
    // The client TLS context new connections use now.
    std::shared_ptr<const TlsContext> tls() const { return tls_(); }

private:
    EventLoop& loop_;
    ProxyCounters& counters_;
    std::function<std::shared_ptr<const TlsContext>()> tls_;
    std::map<std::string, std::vector<ClientConnection*>> by_key_;
    std::map<ClientConnection*, std::unique_ptr<ClientConnection>> owned_;
};

}  // namespace meshgate::hbone
