#pragma once

#include <cstdint>

#include <rte_ether.h>

#include "dataplane/address_key.h"

namespace meshgate::dataplane {

// What a worker tells the control thread, through its SPSC event ring. Fixed size, no
// allocation: ring elements are copied.
struct Event {
    enum class Kind : uint8_t {
        neighbour_seen,     // port, address, mac
        resolve_neighbour,  // port, address
        // How a new TCP flow's connect to `endpoint` went (services with outlier detection):
        connect_succeeded,  // SYN-ACK
        connect_failed,     // RST answering the SYN, or ICMP unreachable
        connect_timed_out,  // no SYN-ACK before the flow's SYN timeout
        peer_answered,      // address: a peer of the tier answered the control thread's probe
    };
    Kind kind = Kind::neighbour_seen;
    uint8_t pad0 = 0;
    uint16_t port = 0;
    AddressKey address{};
    rte_ether_addr mac{};
    uint8_t pad1[2] = {};
    uint32_t endpoint = 0;  // endpoint slot (connect_*)
};
static_assert(sizeof(Event) % 4 == 0);

}  // namespace meshgate::dataplane
