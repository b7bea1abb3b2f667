#pragma once

#include <cstdint>
#include <vector>

#include "core/config.h"
#include "dataplane/ports.h"

struct rte_mempool;

namespace meshgate::dataplane {

// A kernel tap standing for one data port: workers send it what the fast path does not serve,
// and the control thread sends what the kernel writes to it out of the data port. It carries
// the data port's MAC, so the kernel takes frames addressed to the port as its own.
struct ExceptionPort {
    uint16_t data_port = 0;
    uint16_t tap_port = 0;
    uint16_t queues = 0;  // rx = tx queues (net_tap); one tx per worker plus the control thread's
};

std::vector<ExceptionPort> start_exception_ports(const DataplaneConfig& config, const std::vector<PortSetup>& ports,
                                                 uint32_t workers, rte_mempool* pool);

// Worker view: by data port id, the tap port id or UINT16_MAX.
std::vector<uint16_t> exception_map(const std::vector<ExceptionPort>& ports);

// Moves what the kernel wrote to the taps out of their data ports (control thread, its own
// tx queue `tx_queue`). Returns the number of packets moved.
uint32_t forward_from_kernel(const std::vector<ExceptionPort>& ports, uint16_t tx_queue);

}  // namespace meshgate::dataplane
