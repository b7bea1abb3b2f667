#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/address.h"
#include "netlink/rtnetlink.h"

namespace meshgate::netlink {

// Host routes (/32, /128) in one kernel routing table, through a TUN interface this process
// holds open: when the process ends, however it ends, the kernel deletes the interface and
// every route through it. Two kinds:
//  - announced: unicast routes in a table no rule points at, which exists to be exported by a
//    routing daemon (BIRD's kernel protocol with `learn`): it withdraws them at once when
//    meshgated ends. Nothing is ever sent on the interface.
//  - local: `local` routes in the kernel's local table: the node takes packets to these
//    addresses as its own (the gateway role's VIPs, where its HBONE proxy listens), without
//    them being any interface's address, and stops when meshgated ends.
class HostRoutes {
public:
    enum class Kind : uint8_t { announced, local };
    // The routes' protocol number, as `ip route` shows it (`proto 200`).
    static constexpr uint8_t protocol = 200;

    // Creates `device` and brings it up. Throws naming the step (the name taken by another
    // interface: another meshgated on this node).
    HostRoutes(std::string device, uint32_t table, Kind kind = Kind::announced);
    ~HostRoutes();  // closes the interface: the kernel removes its routes
    HostRoutes(const HostRoutes&) = delete;
    HostRoutes& operator=(const HostRoutes&) = delete;

    // Makes the table hold exactly `addresses`. Returns one message per route the kernel
    // refused; those are tried again on the next call.
    std::vector<std::string> set(const std::set<IpAddress>& addresses);
    const std::set<IpAddress>& routes() const { return routes_; }
    const std::string& device() const { return device_; }
    uint32_t table() const { return table_; }

private:
    int change(uint16_t type, const IpAddress& address);

    std::string device_;
    uint32_t table_;
    Kind kind_;
    int fd_ = -1;
    unsigned index_ = 0;
    Rtnetlink nl_;
    std::set<IpAddress> routes_;
};

}  // namespace meshgate::netlink
