#include "control/peer_liveness.h"

#include <rte_mbuf.h>

#include <algorithm>

#include "dataplane/peer_probe.h"

namespace meshgate::control {

void PeerLiveness::follow(const std::vector<IpAddress>& configured) {
    std::vector<Peer> next;
    for (const auto& a : configured) {
        auto it = std::find_if(peers_.begin(), peers_.end(), [&](const Peer& p) { return p.address == a; });
        next.push_back(it != peers_.end() ? *it : Peer{a, std::nullopt, false});
    }
    peers_ = std::move(next);
}

bool PeerLiveness::tick(const dataplane::LbState& lb, const dataplane::Neighbours& neighbours, MonotonicTime now) {
    // Once per interval: the answers are aged, and the probes sent, together.
    if (now < next_probe_) return false;
    const auto before = live();
    const auto& announce = lb.config().announce;
    const auto self = dataplane::ring_self(announce.peers, lb.ports());
    std::vector<IpAddress> others;
    for (const auto& a : announce.peers) {
        if (a != self) others.push_back(a);
    }
    follow(others);
    const MonotonicTime interval = announce.peer_probe_interval;
    for (auto& p : peers_) p.live = p.answered && now - *p.answered <= interval * misses_allowed;
    const bool changed = live() != before;
    next_probe_ = now + interval;
    if (peers_.empty() || !self) return changed;
    const auto from = dataplane::AddressKey::from(*self);
    ++sequence_;
    for (const auto& p : peers_) {
        const auto to = dataplane::AddressKey::from(p.address);
        const auto route = dataplane::route_over(lb.ports(), to);
        const auto* port = route ? lb.port(route->port) : nullptr;
        const rte_ether_addr* mac = port ? neighbours.find(route->port, route->next_hop) : nullptr;
        if (!mac) continue;  // the resolver asks for it (want_next_hops)
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        if (!m) return changed;
        if (!dataplane::write_peer_probe(m, port->mac, *mac, from, to, sequence_) || !tx_->send(m, route->port)) {
            rte_pktmbuf_free(m);
        }
    }
    return changed;
}

void PeerLiveness::answered(const dataplane::AddressKey& peer, MonotonicTime now) {
    for (auto& p : peers_) {
        if (dataplane::AddressKey::from(p.address) == peer) p.answered = now;
    }
}

std::vector<IpAddress> PeerLiveness::live() const {
    std::vector<IpAddress> out;
    for (const auto& p : peers_) {
        if (p.live) out.push_back(p.address);
    }
    return out;
}

dataplane::PeerRing PeerLiveness::ring(const dataplane::LbState& lb) const {
    return dataplane::make_peer_ring(lb.config().announce.peers, live(), lb.ports());
}

nlohmann::json PeerLiveness::status(MonotonicTime now) const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : peers_) {
        nlohmann::json j = {{"address", p.address.to_string()}, {"live", p.live}};
        if (p.answered) j["last_answer_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(now - *p.answered).count();
        out.push_back(j);
    }
    return out;
}

}  // namespace meshgate::control
