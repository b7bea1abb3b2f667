#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "dataplane/queue_layout.h"
#include "dataplane/snapshot.h"

struct rte_mempool;
struct rte_eth_desc_lim;

namespace meshgate::dataplane {

struct PortSetup {
    std::string name;  // [[dataplane.port]] name
    uint16_t port_id = 0;
    QueueLayout queues;
    uint16_t mtu = 0;  // [[dataplane.port]] mtu; 0: the device's own
};

// Finds every [[dataplane.port]] and the queue layout its rte_eth_dev_info allows for
// `workers` workers (queue_layout.h). Throws naming the port.
std::vector<PortSetup> find_ports(const DataplaneConfig& config, uint32_t workers);
// Configures and starts them.
void start_ports(const std::vector<PortSetup>& ports, rte_mempool* pool);
void stop_ports(const std::vector<PortSetup>& ports);

// Packet buffers for these ports, their exception taps, the rings between threads and the
// per-lcore caches. Counted per queue at 4,096: some PMDs keep buffers in rings of their own
// beside the descriptors we ask for (AF_XDP: fill, rx, tx and completion rings of 2,048 each);
// a pool that runs dry starves their receive path.
unsigned packet_pool_size(const std::vector<PortSetup>& ports, uint32_t workers);

// Descriptors per queue: `wanted`, or the device's preferred ring if that is larger (AF_XDP
// prefers 2,048: its rx ring is what absorbs a burst while the worker is busy; 2,048 at most,
// what the packet pool counts), within the device's limits (`rte_eth_desc_lim`).
uint16_t ring_size(uint16_t wanted, uint16_t preferred, const rte_eth_desc_lim& limits);

// Configures and starts one device with `layout` (also used for the exception taps).
// Throws "<what>: <step>: <DPDK's reason>".
void start_device(const std::string& what, uint16_t port_id, const QueueLayout& layout, rte_mempool* pool,
                  uint16_t descriptors, uint16_t mtu = 0);

// The layout meshgated gives `port_id` with `workers` workers.
QueueLayout device_layout(const std::string& what, uint16_t port_id, uint32_t workers);

// What the snapshot needs to know of the ports: ids, MACs, prefixes, gateway, SNAT pool.
std::vector<PortInfo> port_info(const DataplaneConfig& config, const std::vector<PortSetup>& ports);

}  // namespace meshgate::dataplane
