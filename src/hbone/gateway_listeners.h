#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/config.h"
#include "hbone/event_loop.h"

namespace meshgate::hbone {

// The gateway role's listening sockets in one proxy thread: one per VIP:port of each TCP port
// of a `forwarding = "hbone"` service. Bound with IP_FREEBIND (the VIP becomes the node's when
// meshgated gives it to the kernel, perhaps after this) and SO_REUSEPORT (every proxy thread
// has its own, and the kernel spreads connections over them).
class GatewayListeners {
public:
    // A connection accepted on `vip`: the callee owns `fd`.
    using Accept = std::function<void(int fd, const SocketAddress& client, const SocketAddress& vip)>;

    GatewayListeners(EventLoop& loop, Accept accept);
    ~GatewayListeners();
    GatewayListeners(const GatewayListeners&) = delete;
    GatewayListeners& operator=(const GatewayListeners&) = delete;

    // Listens on what `config` adds, stops on what it drops. Returns what could not be opened.
    std::vector<std::string> follow(const Config& config);
    size_t size() const { return open_.size(); }

    // Every VIP:port the gateway role serves in `config`.
    static std::vector<SocketAddress> addresses(const Config& config);

private:
    class Listener;
    EventLoop& loop_;
    Accept accept_;
    std::map<std::string, std::unique_ptr<Listener>> open_;  // by VIP:port
};

}  // namespace meshgate::hbone
