#pragma once

#include <cstdint>

#include "core/config.h"
#include "lb/selection_table.h"

namespace meshgate::hbone {

// What the HBONE proxy reads of the live state: the configuration and, per service, the tables
// of its hops (semantics.md §1), the same tables the data plane's snapshot holds. Immutable; a
// new one comes with every published snapshot.
class Catalog {
public:
    virtual ~Catalog() = default;
    virtual uint64_t generation() const = 0;
    virtual const Config& config() const = 0;
    // The waypoint → backend hop: the last hop of the service's plan.
    virtual const lb::SelectionTable& backends(uint32_t service) const = 0;
    // The gateway → waypoint hop, over the waypoint service's endpoints, when the service has a
    // waypoint meshgate knows; nullptr otherwise.
    virtual const lb::SelectionTable* waypoint_hop(uint32_t service) const = 0;
};

}  // namespace meshgate::hbone
