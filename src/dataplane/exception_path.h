#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/config.h"
#include "dataplane/ports.h"
#include "dataplane/tx_inbox.h"

struct rte_mempool;

namespace meshgate::dataplane {

// A kernel tap standing for one data port: workers send it what the fast path does not serve,
// and the control thread hands what the kernel writes to it to a worker to send out of the
// data port. It carries the data port's MAC, so the kernel takes frames addressed to the port
// as its own.
struct ExceptionPort {
    uint16_t data_port = 0;
    uint16_t tap_port = 0;
    std::string interface;
    QueueLayout queues;  // the control thread polls every rx queue; workers send on their tx queue
    // By rx queue, an fd that is readable while the kernel's packets wait there (net_tap's Rx
    // interrupt fd is the queue's own tun fd); -1 where the driver gives none.
    std::vector<int> kernel_wake_fds;
};

// The fds a sleeping control thread waits on to be woken by the kernel's packets, or nullopt
// when some tap queue has none (the thread must then wake often on its own).
std::optional<std::vector<int>> kernel_wake_fds(const std::vector<ExceptionPort>& ports);

std::vector<ExceptionPort> start_exception_ports(const DataplaneConfig& config, const std::vector<PortSetup>& ports,
                                                 uint32_t workers, rte_mempool* pool);

// Worker view: by data port id, the tap port id or UINT16_MAX.
std::vector<uint16_t> exception_map(const std::vector<ExceptionPort>& ports);

// Moves what the kernel wrote to the taps out of their data ports, through the workers'
// inboxes (control thread). Returns the number of packets moved.
uint32_t forward_from_kernel(const std::vector<ExceptionPort>& ports, const TxInboxes& inboxes);

}  // namespace meshgate::dataplane
