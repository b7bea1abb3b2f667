#include "control/neighbour_resolver.h"

#include "dataplane/neighbour_discovery.h"

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>

namespace meshgate::control {

NeighbourResolver::NeighbourResolver(const dataplane::TxInboxes* tx, rte_mempool* pool) : tx_(tx), pool_(pool) {}

void NeighbourResolver::transmit(rte_mbuf* m, uint16_t port) {
    if (tx_->send(m, port)) ++requests_;
    else rte_pktmbuf_free(m);
}

NeighbourResolver::Key NeighbourResolver::key(uint16_t port, const dataplane::AddressKey& a) {
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), a.address, 16);
    return {port, a.family, bytes};
}

bool NeighbourResolver::learn(const dataplane::Event& e) {
    if (e.kind == dataplane::Event::Kind::resolve_neighbour) {
        want(e.port, e.address);
        return false;
    }
    auto& mac = macs_[key(e.port, e.address)];
    if (rte_is_same_ether_addr(&mac, &e.mac)) return false;
    mac = e.mac;
    table_.reset();
    return true;
}

void NeighbourResolver::want(uint16_t port, const dataplane::AddressKey& address) {
    fresh_ = wanted_.try_emplace(key(port, address), 0).second || fresh_;
}

void NeighbourResolver::want_next_hops(const dataplane::LbState& lb) {
    for (size_t id = 0; id < lb.config().endpoints.size(); ++id) {
        const auto& t = lb.endpoint(static_cast<uint32_t>(id));
        if (t.usable) want(t.out_port, t.next_hop);
    }
    for (const auto& peer : lb.config().announce.peers) {  // probed before they are in the ring
        if (auto r = dataplane::route_over(lb.ports(), dataplane::AddressKey::from(peer))) want(r->port, r->next_hop);
    }
}

void NeighbourResolver::solicit(const dataplane::LbState& lb, uint64_t now_ns) {
    if (!fresh_ && now_ns < next_scan_ns_) return;
    fresh_ = false;
    next_scan_ns_ = now_ns + scan_ns;
    for (auto& [k, last] : wanted_) {
        if (macs_.count(k) || (last != 0 && now_ns - last < retry_ns)) continue;
        dataplane::AddressKey a{};
        a.family = std::get<1>(k);
        std::memcpy(a.address, std::get<2>(k).data(), 16);
        send_request(lb, std::get<0>(k), a);
        last = now_ns;
    }
}

void NeighbourResolver::send_request(const dataplane::LbState& lb, uint16_t port_id, const dataplane::AddressKey& target) {
    const auto* port = lb.port(port_id);
    if (!port) return;
    // Ask from a SNAT address where the port has one: the answer then comes to an address only
    // meshgate owns (on an AF_XDP port the kernel keeps what is sent to the node's addresses).
    const IpAddress* source = nullptr;
    for (const auto& p : port->prefixes) {
        if (p.address.is_v4() == (target.family == 4)) source = &p.address;
    }
    for (const auto& a : port->snat) {
        if (a.is_v4() == (target.family == 4)) source = &a;
    }
    if (!source) return;
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (!m) return;
    if (target.family == 6) {
        const uint32_t length = dataplane::write_neighbour_solicitation(rte_pktmbuf_mtod(m, uint8_t*), port->mac,
                                                                        source->bytes().data(), target.address);
        m->data_len = static_cast<uint16_t>(length);
        m->pkt_len = length;
        return transmit(m, port_id);
    }
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    std::memset(eth->dst_addr.addr_bytes, 0xff, 6);
    eth->src_addr = port->mac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = 6;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    arp->arp_data.arp_sha = port->mac;
    std::memcpy(&arp->arp_data.arp_sip, source->bytes().data(), 4);
    std::memset(arp->arp_data.arp_tha.addr_bytes, 0, 6);
    std::memcpy(&arp->arp_data.arp_tip, target.address, 4);
    const uint16_t length = sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr);
    constexpr uint16_t padded = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;  // 60: the minimum frame
    std::memset(reinterpret_cast<uint8_t*>(eth) + length, 0, padded - length);
    m->data_len = padded;
    m->pkt_len = padded;
    transmit(m, port_id);
}

std::shared_ptr<const dataplane::Neighbours> NeighbourResolver::table(uint64_t generation) {
    if (table_) return table_;
    std::vector<dataplane::NeighbourEntry> entries;
    for (const auto& [k, mac] : macs_) {
        dataplane::NeighbourEntry e;
        e.port = std::get<0>(k);
        e.address.family = std::get<1>(k);
        std::memcpy(e.address.address, std::get<2>(k).data(), 16);
        e.mac = mac;
        entries.push_back(e);
    }
    table_ = std::make_shared<const dataplane::Neighbours>(generation, entries);
    return table_;
}

}  // namespace meshgate::control
