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
// every route through it, so a routing daemon that exports the table (BIRD's kernel protocol
// with `learn`) withdraws them at once. Nothing is ever sent on the interface: no rule points
// at the table, which exists to be announced.
class AnnounceRoutes {
public:
    // The routes' protocol number, as `ip route` shows it (`proto 200`).
    static constexpr uint8_t protocol = 200;

    // Creates `device` and brings it up. Throws naming the step (the name taken by another
    // interface: another meshgated announcing on this node).
    AnnounceRoutes(std::string device, uint32_t table);
    ~AnnounceRoutes();  // closes the interface: the kernel removes its routes
    AnnounceRoutes(const AnnounceRoutes&) = delete;
    AnnounceRoutes& operator=(const AnnounceRoutes&) = delete;

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
    int fd_ = -1;
    unsigned index_ = 0;
    Rtnetlink nl_;
    std::set<IpAddress> routes_;
};

}  // namespace meshgate::netlink
