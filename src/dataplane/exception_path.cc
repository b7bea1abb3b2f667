#include "dataplane/exception_path.h"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <iostream>
#include <stdexcept>

#include "dataplane/kernel_interface.h"
#include <string>

namespace meshgate::dataplane {

std::vector<ExceptionPort> start_exception_ports(const DataplaneConfig& config, const std::vector<PortSetup>& ports,
                                                 uint32_t workers, rte_mempool* pool) {
    std::vector<ExceptionPort> out;
    for (size_t i = 0; i < ports.size(); ++i) {
        const auto& name = config.ports[i].exception_interface;
        if (name.empty()) continue;  // the port keeps its kernel stack otherwise
        rte_ether_addr mac;
        rte_eth_macaddr_get(ports[i].port_id, &mac);
        char mac_text[RTE_ETHER_ADDR_FMT_SIZE];
        rte_ether_format_addr(mac_text, sizeof mac_text, &mac);
        const std::string vdev = "net_tap_x" + std::to_string(i);
        const std::string args = "iface=" + name + ",mac=" + mac_text;
        if (rte_vdev_init(vdev.c_str(), args.c_str()) != 0) {
            throw std::runtime_error("port " + config.ports[i].name + ": exception tap " + name + ": " + rte_strerror(rte_errno));
        }
        ExceptionPort e;
        e.data_port = ports[i].port_id;
        e.interface = name;
        const std::string what = "exception tap " + name;
        if (rte_eth_dev_get_port_by_name(vdev.c_str(), &e.tap_port) != 0) throw std::runtime_error(what + ": not found");
        e.queues = device_layout(what, e.tap_port, workers);
        e.queues.rss = false;  // the kernel picks the queue it writes to; nothing to spread
        e.queues.rx_interrupts = true;  // the control thread sleeps until the kernel writes
        start_device(what, e.tap_port, e.queues, pool, 512);
        for (uint16_t q = 0; q < e.queues.rx_queues; ++q) e.kernel_wake_fds.push_back(rte_eth_dev_rx_intr_ctl_q_get_fd(e.tap_port, q));
        uint16_t mtu = 0;
        rte_eth_dev_get_mtu(ports[i].port_id, &mtu);
        for (const auto& w : configure_kernel_interface(name, config.ports[i].addresses, mtu, config.ports[i].gateway)) {
            std::cerr << "meshgated: warning: " << w << "\n";
        }
        out.push_back(e);
    }
    return out;
}

std::optional<std::vector<int>> kernel_wake_fds(const std::vector<ExceptionPort>& ports) {
    std::vector<int> fds;
    for (const auto& e : ports) {
        if (e.kernel_wake_fds.size() != e.queues.rx_queues) return std::nullopt;
        for (int fd : e.kernel_wake_fds) {
            if (fd < 0) return std::nullopt;
            fds.push_back(fd);
        }
    }
    return fds;
}

std::vector<uint16_t> exception_map(const std::vector<ExceptionPort>& ports) {
    std::vector<uint16_t> map(RTE_MAX_ETHPORTS, UINT16_MAX);
    for (const auto& e : ports) map[e.data_port] = e.tap_port;
    return map;
}

uint32_t forward_from_kernel(const std::vector<ExceptionPort>& ports, const TxInboxes& inboxes) {
    uint32_t moved = 0;
    rte_mbuf* packets[32];
    for (const auto& e : ports) {
        for (uint16_t q = 0; q < e.queues.rx_queues; ++q) {
            const uint16_t n = rte_eth_rx_burst(e.tap_port, q, packets, 32);
            for (uint16_t i = 0; i < n; ++i) {
                // Spread by the tap queue the kernel chose (it keeps a flow on one queue).
                if (!inboxes.send(packets[i], e.data_port, q)) rte_pktmbuf_free(packets[i]);
            }
            moved += n;
        }
    }
    return moved;
}

}  // namespace meshgate::dataplane
