#include "dataplane_harness.h"

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "dataplane/queue_layout.h"
#include "lb/planner.h"

namespace meshgate::testing {

namespace {
rte_mempool* g_pool = nullptr;
std::atomic<int> g_names{0};
std::string unique(const char* what) { return std::string(what) + std::to_string(g_names++); }

rte_ring* make_ring(const std::string& name, unsigned flags, unsigned esize = 0) {
    rte_ring* r = esize ? rte_ring_create_elem(name.c_str(), esize, 1024, SOCKET_ID_ANY, flags)
                        : rte_ring_create(name.c_str(), 1024, SOCKET_ID_ANY, flags);
    if (!r) throw std::runtime_error("ring " + name);
    return r;
}
}  // namespace

void EalEnvironment::SetUp() {
    const std::string prefix = "mgtest" + std::to_string(getpid());
    std::vector<std::string> args = {"packet_tests", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
                                     "--file-prefix", prefix, "-l", "0", "--log-level", "*:error"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0) << "rte_eal_init failed";
    g_pool = rte_pktmbuf_pool_create("test_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(g_pool, nullptr);
}

void EalEnvironment::TearDown() {
    rte_eal_cleanup();
    std::filesystem::remove_all("/var/run/dpdk/mgtest" + std::to_string(getpid()));
}

rte_mempool* EalEnvironment::pool() { return g_pool; }

Mac DataplaneBench::mac_of(const std::string& address) {
    auto b = ip_bytes(address);
    return {0x02, 0xee, b[b.size() - 4], b[b.size() - 3], b[b.size() - 2], b[b.size() - 1]};
}

DataplaneBench::DataplaneBench(Config config, uint32_t workers, dataplane::FlowTimeouts timeouts, uint32_t flow_capacity,
                               BenchQueues queues) {
    const size_t port_count = config.dataplane.ports.size();
    std::vector<std::pair<uint16_t, dataplane::QueueLayout>> layouts;
    std::vector<uint16_t> tx_queues(RTE_MAX_ETHPORTS, 0);
    for (size_t p = 0; p < port_count; ++p) {
        RingPort port;
        dataplane::QueueLayout layout;
        if (queues.daemon_layout) {
            // What meshgated makes of a device with these queues and no RSS (ring ports have none).
            layout = dataplane::queue_layout({queues.rx_queues, queues.tx_queues, false}, workers);
        } else {
            layout.rx_queues = 1;
            layout.tx_queues = static_cast<uint16_t>(workers);
        }
        for (uint16_t q = 0; q < layout.rx_queues; ++q) port.rx.push_back(make_ring(unique("rx"), RING_F_SP_ENQ | RING_F_SC_DEQ));
        for (uint16_t q = 0; q < layout.tx_queues; ++q) port.tx.push_back(make_ring(unique("tx"), RING_F_SP_ENQ | RING_F_SC_DEQ));
        const int id = rte_eth_from_rings(unique("ring").c_str(), port.rx.data(), static_cast<unsigned>(port.rx.size()),
                                          port.tx.data(), static_cast<unsigned>(port.tx.size()), SOCKET_ID_ANY);
        if (id < 0) throw std::runtime_error("rte_eth_from_rings");
        port.id = static_cast<uint16_t>(id);
        rte_eth_conf conf{};
        rte_eth_dev_configure(port.id, layout.rx_queues, layout.tx_queues, &conf);
        for (uint16_t q = 0; q < layout.rx_queues; ++q) rte_eth_rx_queue_setup(port.id, q, 1024, SOCKET_ID_ANY, nullptr, g_pool);
        for (uint16_t q = 0; q < layout.tx_queues; ++q) rte_eth_tx_queue_setup(port.id, q, 1024, SOCKET_ID_ANY, nullptr);
        if (rte_eth_dev_start(port.id) != 0) throw std::runtime_error("rte_eth_dev_start");
        rte_ether_addr mac;
        rte_eth_macaddr_get(port.id, &mac);
        std::copy(mac.addr_bytes, mac.addr_bytes + 6, port.mac.begin());
        ports_.push_back(port);
        layouts.emplace_back(port.id, layout);
        tx_queues[port.id] = layout.tx_queues;

        dataplane::PortInfo info;
        info.port_id = port.id;
        info.mac = mac;
        const auto& pc = config.dataplane.ports.at(p);
        info.prefixes = pc.addresses;
        info.gateway = pc.gateway;
        info.snat = pc.snat;
        if (pc.mtu) info.mtu = pc.mtu;
        port_info_.push_back(info);
    }

    // Every endpoint address the tests use is a resolved neighbour (on the endpoint side).
    std::vector<dataplane::NeighbourEntry> neighbours;
    for (const auto& e : config.endpoints) {
        if (!e.address) continue;
        auto mac = mac_of(e.address->to_string());
        dataplane::NeighbourEntry n;
        n.port = backend().id;
        n.address = dataplane::AddressKey::from(*e.address);
        std::copy(mac.begin(), mac.end(), n.mac.addr_bytes);
        neighbours.push_back(n);
    }
    for (size_t p = 0; p < port_count; ++p) {  // and every port's gateway
        const auto& gateway = config.dataplane.ports[p].gateway;
        if (!gateway) continue;
        auto mac = mac_of(gateway->to_string());
        dataplane::NeighbourEntry n;
        n.port = ports_[p].id;
        n.address = dataplane::AddressKey::from(*gateway);
        std::copy(mac.begin(), mac.end(), n.mac.addr_bytes);
        neighbours.push_back(n);
    }
    for (const auto& peer : config.announce.peers) {  // and the other nodes of a tier, on every port
        auto mac = mac_of(peer.to_string());
        for (const auto& port : ports_) {
            dataplane::NeighbourEntry n;
            n.port = port.id;
            n.address = dataplane::AddressKey::from(peer);
            std::copy(mac.begin(), mac.end(), n.mac.addr_bytes);
            neighbours.push_back(n);
        }
    }
    neighbours_ = std::make_shared<dataplane::Neighbours>(1, neighbours);
    neighbour_entries_ = neighbours;

    const size_t rcu_size = rte_rcu_qsbr_get_memsize(workers);
    rcu_ = static_cast<rte_rcu_qsbr*>(std::aligned_alloc(RTE_CACHE_LINE_SIZE, (rcu_size + RTE_CACHE_LINE_SIZE - 1) / RTE_CACHE_LINE_SIZE * RTE_CACHE_LINE_SIZE));
    rte_rcu_qsbr_init(rcu_, workers);
    publish(std::move(config));

    for (uint32_t w = 0; w < workers; ++w) {
        handoff_.push_back(make_ring(unique("handoff"), RING_F_SC_DEQ));
        inboxes_.push_back(make_ring(unique("inbox"), RING_F_SC_DEQ));
        events_.push_back(make_ring(unique("events"), RING_F_SP_ENQ | RING_F_SC_DEQ, sizeof(dataplane::Event)));
        counters_.push_back(std::make_unique<dataplane::WorkerCounters>(1024, 64));
    }
    const auto assigned = dataplane::assign_rx_queues(layouts, workers);
    for (uint32_t w = 0; w < workers; ++w) {
        dataplane::WorkerSetup s;
        s.id = w;
        s.count = workers;
        if (queues.daemon_layout) {
            s.rx = assigned[w];
        } else if (workers == 1) {
            for (const auto& p : ports_) s.rx.push_back({p.id, 0, false});
        } else if (w < ports_.size()) {
            s.rx = {{ports_[w].id, 0, false}};
        }
        s.tx = dataplane::TxInboxes(inboxes_, tx_queues);
        s.flow_capacity = flow_capacity;
        s.timeouts = timeouts;
        s.snapshot = &current_;
        s.rcu = rcu_;
        s.handoff = handoff_;
        s.events = events_[w];
        s.counters = counters_[w].get();
        rte_rcu_qsbr_thread_register(rcu_, w);
        rte_rcu_qsbr_thread_online(rcu_, w);
        workers_.push_back(std::make_unique<dataplane::Worker>(std::move(s)));
    }
}

DataplaneBench::~DataplaneBench() {
    workers_.clear();
    for (auto& p : ports_) {
        rte_eth_dev_stop(p.id);
        rte_eth_dev_close(p.id);
        auto drain = [](rte_ring* r) {
            void* m;
            while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
            rte_ring_free(r);
        };
        for (auto* r : p.rx) drain(r);
        for (auto* r : p.tx) drain(r);
    }
    for (auto* rings : {&handoff_, &inboxes_}) {
        for (auto* r : *rings) {
            void* m;
            while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
            rte_ring_free(r);
        }
    }
    for (auto* r : events_) rte_ring_free(r);
    std::free(rcu_);
}

void DataplaneBench::publish(Config config) {
    const auto health = lb::declared_health(config);
    publish(std::move(config), health);
}

void DataplaneBench::publish(Config config, const std::vector<lb::EndpointHealth>& health) {
    auto snapshot = std::make_unique<dataplane::Snapshot>();
    snapshot->generation = snapshot_ ? snapshot_->generation + 1 : 1;
    snapshot->lb = std::make_shared<dataplane::LbState>(std::move(config), port_info_, health);
    snapshot->neighbours = neighbours_;
    snapshot->endpoint_macs = dataplane::endpoint_macs(*snapshot->lb, snapshot->neighbours);
    // Every peer of a tier answers.
    const auto& peers = snapshot->lb->config().announce.peers;
    snapshot->peers = dataplane::make_peer_ring(peers, peers, port_info_);
    current_.store(snapshot.get(), std::memory_order_release);
    // Workers only run inside poll(), so the old snapshot may stay alive until the bench ends.
    if (snapshot_) retired_.push_back(std::move(snapshot_));
    snapshot_ = std::move(snapshot);
}

void DataplaneBench::learn_neighbour(const std::string& address) {
    auto mac = mac_of(address);
    dataplane::NeighbourEntry n;
    n.port = backend().id;
    n.address = dataplane::AddressKey::from(*IpAddress::parse(address));
    std::copy(mac.begin(), mac.end(), n.mac.addr_bytes);
    neighbour_entries_.push_back(n);
    neighbours_ = std::make_shared<dataplane::Neighbours>(neighbours_->generation() + 1, neighbour_entries_);
    publish(config());
}

void DataplaneBench::inject(const RingPort& port, const Bytes& frame, uint16_t queue) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    ASSERT_NE(m, nullptr);
    char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
    ASSERT_NE(data, nullptr);
    std::memcpy(data, frame.data(), frame.size());
    ASSERT_EQ(rte_ring_enqueue(port.rx.at(queue), m), 0);
}

void DataplaneBench::poll(uint32_t worker) { workers_[worker]->poll_once(); }

void DataplaneBench::poll_all() {
    // Three rounds: a packet may be steered to its flow's owner, which may hand the rewritten
    // frame to the worker that owns the tx queue of its port.
    for (int round = 0; round < 3; ++round) {
        for (uint32_t w = 0; w < workers_.size(); ++w) poll(w);
    }
}

std::vector<Bytes> DataplaneBench::sent(const RingPort& port) {
    std::vector<Bytes> out;
    for (auto* r : port.tx) {
        void* obj;
        while (rte_ring_dequeue(r, &obj) == 0) {
            auto* m = static_cast<rte_mbuf*>(obj);
            const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
            out.emplace_back(p, p + rte_pktmbuf_data_len(m));
            rte_pktmbuf_free(m);
        }
    }
    return out;
}

std::pair<std::vector<Bytes>, std::vector<Bytes>> DataplaneBench::exchange(const RingPort& port, const Bytes& frame) {
    inject(port, frame);
    poll_all();
    auto to_clients = sent(client());
    // One-arm: both directions leave by the one port; the caller tells them apart.
    auto to_endpoints = ports_.size() > 1 ? sent(backend()) : std::vector<Bytes>{};
    return {to_clients, to_endpoints};
}

uint64_t DataplaneBench::drops(dataplane::Drop reason) const {
    uint64_t n = 0;
    for (const auto& c : counters_) n += c->drops[static_cast<size_t>(reason)].get();
    return n;
}

std::vector<dataplane::Event> DataplaneBench::events(uint32_t worker) {
    std::vector<dataplane::Event> out;
    dataplane::Event e;
    while (rte_ring_dequeue_elem(events_[worker], &e, sizeof e) == 0) out.push_back(e);
    return out;
}

Config bench_config() {
    Config c;
    c.node.name = "gw";
    c.node.cluster = "c1";
    c.node.network = "n1";
    c.node.region = "r1";
    c.node.zone = "z1";
    c.lb.maglev_table_size = 251;
    PortConfig clients, endpoints;
    clients.name = "clients";
    clients.addresses = {*IpPrefix::parse("10.0.0.2/24"), *IpPrefix::parse("fd00::2/64")};
    endpoints.name = "endpoints";
    endpoints.addresses = {*IpPrefix::parse("10.1.0.2/24"), *IpPrefix::parse("fd01::2/64")};
    endpoints.snat = {*IpAddress::parse("10.1.0.3"), *IpAddress::parse("fd01::3")};
    c.dataplane.ports = {clients, endpoints};

    Service web;
    web.name = "web";
    web.ns = "t";
    web.vips = {*IpAddress::parse("10.96.0.1")};
    web.ports = {{80, 8080, Protocol::tcp}, {53, 5353, Protocol::udp}};
    web.annotations["networking.istio.io/traffic-distribution"] = "Any";
    Service web6 = web;
    web6.name = "web6";
    web6.vips = {*IpAddress::parse("fd96::1")};
    web6.ports = {{80, 8080, Protocol::tcp}, {53, 5353, Protocol::udp}};
    c.services = {web, web6};
    for (const char* a : {"10.1.0.11", "10.1.0.12"}) {
        Endpoint e;
        e.service = "t/web";
        e.address = *IpAddress::parse(a);
        e.locality = {"n1", "r1", "z1", "", "", ""};
        c.endpoints.push_back(e);
    }
    Endpoint e6;
    e6.service = "t/web6";
    e6.address = *IpAddress::parse("fd01::11");
    e6.locality = {"n1", "r1", "z1", "", "", ""};
    c.endpoints.push_back(e6);
    return c;
}

}  // namespace meshgate::testing

namespace meshgate::testing {

Config one_arm_config() {
    Config c = bench_config();
    PortConfig port;
    port.name = "arm";
    port.addresses = {*IpPrefix::parse("10.0.0.2/24"), *IpPrefix::parse("fd00::2/64")};
    port.snat = {*IpAddress::parse("10.0.0.3"), *IpAddress::parse("fd00::3")};
    c.dataplane.ports = {port};
    const char* addresses[] = {"10.0.0.11", "10.0.0.12", "fd00::11"};
    for (size_t i = 0; i < c.endpoints.size(); ++i) c.endpoints[i].address = *IpAddress::parse(addresses[i]);
    return c;
}

}  // namespace meshgate::testing
