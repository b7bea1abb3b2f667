#include "dataplane/ports.h"

#include <rte_ethdev.h>
#include <rte_errno.h>

#include <stdexcept>

#include "dataplane/eal.h"

namespace meshgate::dataplane {

namespace {

constexpr uint16_t rx_descriptors = 1024;
constexpr uint16_t tx_descriptors = 1024;

[[noreturn]] void fail(const std::string& port, const std::string& what, int rc) {
    throw std::runtime_error("port " + port + ": " + what + ": " + rte_strerror(rc < 0 ? -rc : rc));
}

}  // namespace

std::vector<PortSetup> start_ports(const DataplaneConfig& config, uint32_t workers, rte_mempool* pool) {
    std::vector<PortSetup> out;
    for (const auto& pc : config.ports) {
        PortSetup p;
        p.name = pc.name;
        if (rte_eth_dev_get_port_by_name(device_name(pc.device).c_str(), &p.port_id) != 0) {
            throw std::runtime_error("port " + pc.name + ": no DPDK device \"" + device_name(pc.device) + "\"");
        }
        rte_eth_dev_info info{};
        if (int rc = rte_eth_dev_info_get(p.port_id, &info); rc != 0) fail(pc.name, "device info", rc);
        rte_eth_conf conf{};
        // Let the NIC verify IPv4 header checksums where it can: the worker then skips its own.
        if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
        p.rss = workers > 1 && info.max_rx_queues > 1 && info.flow_type_rss_offloads != 0;
        if (p.rss) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
            p.rx_queues = static_cast<uint16_t>(std::min<uint32_t>(workers, info.max_rx_queues));
        }
        p.tx_queues = static_cast<uint16_t>(std::min<uint32_t>(workers + 1, info.max_tx_queues));
        if (p.tx_queues < workers + 1) {
            throw std::runtime_error("port " + pc.name + ": needs " + std::to_string(workers + 1) +
                                     " tx queues (one per worker and the control thread), the device has " +
                                     std::to_string(info.max_tx_queues));
        }
        // net_tap wants as many rx queues as tx queues; the kernel spreads flows over all of
        // them, so every one is polled (the daemon hands queues to workers round robin).
        if (std::string(info.driver_name) == "net_tap") p.rx_queues = p.tx_queues;
        if (int rc = rte_eth_dev_configure(p.port_id, p.rx_queues, p.tx_queues, &conf); rc != 0) fail(pc.name, "configure", rc);
        const int socket = rte_eth_dev_socket_id(p.port_id);
        for (uint16_t q = 0; q < p.rx_queues; ++q) {
            if (int rc = rte_eth_rx_queue_setup(p.port_id, q, rx_descriptors, socket, nullptr, pool); rc != 0) fail(pc.name, "rx queue", rc);
        }
        for (uint16_t q = 0; q < p.tx_queues; ++q) {
            if (int rc = rte_eth_tx_queue_setup(p.port_id, q, tx_descriptors, socket, nullptr); rc != 0) fail(pc.name, "tx queue", rc);
        }
        if (int rc = rte_eth_dev_start(p.port_id); rc != 0) fail(pc.name, "start", rc);
        out.push_back(p);
    }
    return out;
}

void stop_ports(const std::vector<PortSetup>& ports) {
    for (const auto& p : ports) {
        rte_eth_dev_stop(p.port_id);
        rte_eth_dev_close(p.port_id);
    }
}

std::vector<PortInfo> port_info(const DataplaneConfig& config, const std::vector<PortSetup>& ports) {
    std::vector<PortInfo> out;
    for (size_t i = 0; i < ports.size(); ++i) {
        PortInfo info;
        info.port_id = ports[i].port_id;
        rte_eth_macaddr_get(ports[i].port_id, &info.mac);
        info.prefixes = config.ports[i].addresses;
        info.gateway = config.ports[i].gateway;
        info.snat = config.ports[i].snat;
        out.push_back(info);
    }
    return out;
}

}  // namespace meshgate::dataplane
