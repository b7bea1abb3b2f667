#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"

namespace meshgate::dataplane {

// The node's own stack behind an exception tap, set through rtnetlink: the data port's
// addresses and MTU, the link up, and a default route via the port's gateway. The tap goes
// away with meshgated (DPDK closes it, or the kernel does when the process dies), and with it
// everything set here. Returns warnings (a default route that already exists is left as is);
// throws naming the interface and the step when the kernel refuses.
std::vector<std::string> configure_kernel_interface(const std::string& interface, const std::vector<IpPrefix>& addresses,
                                                    uint32_t mtu, const std::optional<IpAddress>& gateway);

}  // namespace meshgate::dataplane
