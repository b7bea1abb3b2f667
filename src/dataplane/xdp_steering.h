#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/address.h"

namespace meshgate::dataplane {

// meshgated's XDP steering program on AF_XDP ports (drivers/xdp/meshgate_steer.bpf.c): the
// kernel keeps every frame meshgated does not serve, so the port's interface keeps the node's
// own stack and needs no exception tap.

// `device` with xdp_prog=<program> added when it is an AF_XDP vdev that names no program and
// `program` is there; otherwise `device` as it is.
std::string with_steering_program(const std::string& device, const std::string& program);
// The interface of a device string that has our program ("...,iface=X,...,xdp_prog=<program>").
std::optional<std::string> steered_interface(const std::string& device, const std::string& program);

// The kernel keeps an XDP program attached after its process died; the PMD will not replace
// one. Detaches ours or the PMD's default from `interface` if a previous run left it there;
// says so in the returned text (empty: nothing to do). Throws when the kernel refuses.
std::string remove_stale_program(const std::string& interface);

// The program's owned_v4 / owned_v6 maps on one interface, found through the program the PMD
// attached there. The control thread keeps them equal to the VIPs and SNAT addresses.
class SteeringMaps {
public:
    explicit SteeringMaps(const std::string& interface);  // throws if the program is not attached
    ~SteeringMaps();
    SteeringMaps(SteeringMaps&& other) noexcept;
    SteeringMaps(const SteeringMaps&) = delete;
    SteeringMaps& operator=(const SteeringMaps&) = delete;
    SteeringMaps& operator=(SteeringMaps&&) = delete;

    // Makes the maps hold `owned` (served: frames to them come to meshgated) and `peers` (the
    // tier's nodes: their second-chance tunnel comes to meshgated); adds what is new, removes
    // what is no longer there. Returns the entries changed.
    size_t update(const std::vector<IpAddress>& owned, const std::vector<IpAddress>& peers = {});
    const std::string& interface() const { return interface_; }

private:
    std::string interface_;
    int owned_v4_ = -1, owned_v6_ = -1;
};

}  // namespace meshgate::dataplane
