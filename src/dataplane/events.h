#pragma once

#include <cstdint>

#include <rte_ether.h>

#include "dataplane/address_key.h"

namespace meshgate::dataplane {

// What a worker tells the control thread, through its SPSC event ring. Fixed size, no
// allocation: ring elements are copied.
struct Event {
    enum class Kind : uint8_t { neighbour_seen, resolve_neighbour };
    Kind kind = Kind::neighbour_seen;
    uint8_t pad0 = 0;
    uint16_t port = 0;
    AddressKey address{};
    rte_ether_addr mac{};
    uint8_t pad1[2] = {};
};
static_assert(sizeof(Event) % 4 == 0);

}  // namespace meshgate::dataplane
