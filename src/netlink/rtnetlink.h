#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <memory>

namespace meshgate::netlink {

// One rtnetlink socket for configuration requests; each request waits for the kernel's
// acknowledgement, so a failure is known (as an errno) at the step that caused it.
class Rtnetlink {
public:
    Rtnetlink();  // throws std::runtime_error when the socket cannot be opened

    // A request of `type` with NLM_F_REQUEST | NLM_F_ACK | `flags`, in the socket's buffer:
    // fill it, then request() it before starting the next.
    nlmsghdr* start(uint16_t type, uint16_t flags);
    // 0, or the kernel's errno for the request.
    int request(nlmsghdr* h);
    // Brings interface `index` up, with `mtu` unless 0; 0 or the kernel's errno.
    int set_link_up(unsigned index, uint32_t mtu = 0);

private:
    std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> socket_;
    alignas(nlmsghdr) char buffer_[8192];
    uint32_t sequence_;
};

}  // namespace meshgate::netlink
