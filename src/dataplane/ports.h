#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "dataplane/snapshot.h"

struct rte_mempool;

namespace meshgate::dataplane {

struct PortSetup {
    std::string name;      // [[dataplane.port]] name
    uint16_t port_id = 0;
    uint16_t rx_queues = 1;  // > 1 only where the device does RSS
    uint16_t tx_queues = 1;  // one per worker, plus the control thread's
    bool rss = false;
};

// Finds, configures and starts every [[dataplane.port]]: rx queues spread over the workers
// with RSS where the device offers it, one tx queue per worker plus one for the control
// thread (the last). Throws naming the port on failure.
std::vector<PortSetup> start_ports(const DataplaneConfig& config, uint32_t workers, rte_mempool* pool);
void stop_ports(const std::vector<PortSetup>& ports);

// What the snapshot needs to know of the ports: ids, MACs, prefixes, gateway, SNAT pool.
std::vector<PortInfo> port_info(const DataplaneConfig& config, const std::vector<PortSetup>& ports);

}  // namespace meshgate::dataplane
