#include "dataplane/ports.h"

#include <rte_errno.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <iostream>
#include <stdexcept>

#include "dataplane/eal.h"

namespace meshgate::dataplane {

namespace {

constexpr uint16_t port_descriptors = 1024;  // at least; more where the device prefers more

[[noreturn]] void fail(const std::string& what, const std::string& step, int rc) {
    throw std::runtime_error(what + ": " + step + ": " + rte_strerror(rc < 0 ? -rc : rc));
}

rte_eth_dev_info device_info(const std::string& what, uint16_t port_id) {
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0) fail(what, "device info", rc);
    return info;
}

}  // namespace

uint16_t ring_size(uint16_t wanted, uint16_t preferred, const rte_eth_desc_lim& limits) {
    // packet_pool_size() counts 4,096 buffers a queue: an rx and a tx ring of 2,048 at most.
    constexpr uint16_t most = 2048;
    uint32_t n = std::max(wanted, std::min(preferred, most));
    if (limits.nb_max != 0) n = std::min<uint32_t>(n, limits.nb_max);
    n = std::max<uint32_t>(n, limits.nb_min);
    if (limits.nb_align > 1) n -= n % limits.nb_align;
    return static_cast<uint16_t>(n);
}

QueueLayout device_layout(const std::string& what, uint16_t port_id, uint32_t workers) {
    const rte_eth_dev_info info = device_info(what, port_id);
    DeviceQueues d;
    d.max_rx_queues = info.max_rx_queues;
    d.max_tx_queues = info.max_tx_queues;
    d.rss = (info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP)) != 0;
    return queue_layout(d, workers);
}

void start_device(const std::string& what, uint16_t port_id, const QueueLayout& layout, rte_mempool* pool,
                  uint16_t descriptors, uint16_t mtu) {
    const rte_eth_dev_info info = device_info(what, port_id);
    rte_eth_conf conf{};
    // Let the NIC verify IPv4 header checksums where it can: the worker then skips its own.
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    conf.intr_conf.rxq = layout.rx_interrupts ? 1 : 0;
    if (layout.rss) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
    }
    if (int rc = rte_eth_dev_configure(port_id, layout.rx_queues, layout.tx_queues, &conf); rc != 0) fail(what, "configure", rc);
    if (mtu != 0) {
        // Some drivers report a fixed frame size whatever their interface carries (net_af_packet
        // in DPDK 22.11: 1518); the operator's figure stands, with a word about it.
        if (int rc = rte_eth_dev_set_mtu(port_id, mtu); rc != 0) {
            std::cerr << "meshgated: " << what << ": the device refuses MTU " << mtu << " (" << rte_strerror(-rc)
                      << "); meshgated still sends IP packets of up to " << mtu << " bytes there: its link must carry them\n";
        }
    }
    const int socket = rte_eth_dev_socket_id(port_id);
    const uint16_t rx_descriptors = ring_size(descriptors, info.default_rxportconf.ring_size, info.rx_desc_lim);
    const uint16_t tx_descriptors = ring_size(descriptors, info.default_txportconf.ring_size, info.tx_desc_lim);
    for (uint16_t q = 0; q < layout.rx_queues; ++q) {
        if (int rc = rte_eth_rx_queue_setup(port_id, q, rx_descriptors, socket, nullptr, pool); rc != 0) fail(what, "rx queue", rc);
    }
    for (uint16_t q = 0; q < layout.tx_queues; ++q) {
        if (int rc = rte_eth_tx_queue_setup(port_id, q, tx_descriptors, socket, nullptr); rc != 0) fail(what, "tx queue", rc);
    }
    if (int rc = rte_eth_dev_start(port_id); rc != 0) fail(what, "start", rc);
}

std::vector<PortSetup> find_ports(const DataplaneConfig& config, uint32_t workers) {
    std::vector<PortSetup> out;
    for (const auto& pc : config.ports) {
        PortSetup p;
        p.name = pc.name;
        const std::string what = "port " + pc.name;
        if (rte_eth_dev_get_port_by_name(device_name(pc.device).c_str(), &p.port_id) != 0) {
            throw std::runtime_error(what + ": no DPDK device \"" + device_name(pc.device) + "\"");
        }
        p.queues = device_layout(what, p.port_id, workers);
        p.mtu = pc.mtu;
        out.push_back(p);
    }
    return out;
}

void start_ports(const std::vector<PortSetup>& ports, rte_mempool* pool) {
    for (const auto& p : ports) start_device("port " + p.name, p.port_id, p.queues, pool, port_descriptors, p.mtu);
}

unsigned packet_pool_size(const std::vector<PortSetup>& ports, uint32_t workers) {
    constexpr unsigned per_queue = 4096, per_tap_queue = 2 * 512, per_ring = 4096, cache = 256, spare = 4096;
    unsigned n = spare + (workers + 1) * cache + workers * 2 * per_ring;  // handoff and tx inbox rings
    for (const auto& p : ports) n += (p.queues.rx_queues + p.queues.tx_queues) * per_queue + workers * per_tap_queue;
    return n;
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
        info.mtu = config.ports[i].mtu;
        if (info.mtu == 0 && rte_eth_dev_get_mtu(ports[i].port_id, &info.mtu) != 0) info.mtu = RTE_ETHER_MTU;
        out.push_back(info);
    }
    return out;
}

}  // namespace meshgate::dataplane
