#include "dataplane/exception_path.h"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <stdexcept>
#include <string>

namespace meshgate::dataplane {

std::vector<ExceptionPort> start_exception_ports(const DataplaneConfig& config, const std::vector<PortSetup>& ports,
                                                 uint32_t workers, rte_mempool* pool) {
    std::vector<ExceptionPort> out;
    for (size_t i = 0; i < ports.size(); ++i) {
        const auto& name = config.ports[i].exception_interface;
        if (name.empty()) continue;
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
        if (rte_eth_dev_get_port_by_name(vdev.c_str(), &e.tap_port) != 0) throw std::runtime_error("exception tap " + name + ": not found");
        e.queues = static_cast<uint16_t>(workers + 1);
        rte_eth_conf conf{};
        if (rte_eth_dev_configure(e.tap_port, e.queues, e.queues, &conf) != 0) throw std::runtime_error("exception tap " + name + ": configure");
        for (uint16_t q = 0; q < e.queues; ++q) {
            if (rte_eth_rx_queue_setup(e.tap_port, q, 512, SOCKET_ID_ANY, nullptr, pool) != 0 ||
                rte_eth_tx_queue_setup(e.tap_port, q, 512, SOCKET_ID_ANY, nullptr) != 0) {
                throw std::runtime_error("exception tap " + name + ": queues");
            }
        }
        if (rte_eth_dev_start(e.tap_port) != 0) throw std::runtime_error("exception tap " + name + ": start");
        out.push_back(e);
    }
    return out;
}

std::vector<uint16_t> exception_map(const std::vector<ExceptionPort>& ports) {
    std::vector<uint16_t> map(RTE_MAX_ETHPORTS, UINT16_MAX);
    for (const auto& e : ports) map[e.data_port] = e.tap_port;
    return map;
}

uint32_t forward_from_kernel(const std::vector<ExceptionPort>& ports, uint16_t tx_queue) {
    uint32_t moved = 0;
    rte_mbuf* packets[32];
    for (const auto& e : ports) {
        for (uint16_t q = 0; q < e.queues; ++q) {
            const uint16_t n = rte_eth_rx_burst(e.tap_port, q, packets, 32);
            const uint16_t sent = n ? rte_eth_tx_burst(e.data_port, tx_queue, packets, n) : 0;
            for (uint16_t i = sent; i < n; ++i) rte_pktmbuf_free(packets[i]);
            moved += n;
        }
    }
    return moved;
}

}  // namespace meshgate::dataplane
