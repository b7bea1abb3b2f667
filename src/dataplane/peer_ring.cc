#include "dataplane/peer_ring.h"

#include <algorithm>

#include "dataplane/snapshot.h"

namespace meshgate::dataplane {

bool PeerRing::is_peer(const AddressKey& a) const {
    return std::any_of(peers.begin(), peers.end(), [&](const AddressKey& p) { return p == a; });
}

std::optional<IpAddress> ring_self(const std::vector<IpAddress>& configured, const std::vector<PortInfo>& ports) {
    if (configured.empty()) return std::nullopt;
    const bool v4 = configured.front().is_v4();
    std::optional<IpAddress> self;
    for (const auto& p : ports) {
        for (const auto& prefix : p.prefixes) {
            if (prefix.address.is_v4() != v4) continue;
            if (std::find(configured.begin(), configured.end(), prefix.address) != configured.end()) return prefix.address;
            if (!self) self = prefix.address;
        }
    }
    return self;
}

PeerRing make_peer_ring(const std::vector<IpAddress>& configured, const std::vector<IpAddress>& live,
                        const std::vector<PortInfo>& ports) {
    PeerRing ring;
    if (configured.empty()) return ring;
    const bool v4 = configured.front().is_v4();
    ring.family = v4 ? 4 : 6;
    const auto self = ring_self(configured, ports);
    if (!self) {
        ring.unusable_because = std::string("[announce] peers are IPv") + (v4 ? "4" : "6") +
                                " but no port has an address of that family: no second chance for other nodes' flows";
        return ring;
    }
    ring.self = AddressKey::from(*self);
    for (const auto& a : configured) {
        const AddressKey k = AddressKey::from(a);
        if (!(k == ring.self) && !ring.is_peer(k)) ring.peers.push_back(k);
    }
    std::vector<AddressKey> members{ring.self};
    for (const auto& a : live) {
        const AddressKey k = AddressKey::from(a);
        if (ring.is_peer(k) && std::find(members.begin(), members.end(), k) == members.end()) members.push_back(k);
    }
    ring.members = static_cast<uint32_t>(members.size());
    if (members.size() < 2) return ring;  // alone, or no peer answers: nothing to pass on to
    std::sort(members.begin(), members.end(),
              [](const AddressKey& a, const AddressKey& b) { return std::memcmp(a.address, b.address, 16) < 0; });
    const auto at = std::find(members.begin(), members.end(), ring.self);
    ring.next = std::next(at) == members.end() ? members.front() : *std::next(at);
    const auto route = route_over(ports, ring.next);
    if (!route) {
        ring.unusable_because = "[announce] peers: no port reaches " + ring.next.to_address().to_string() +
                                ": no second chance for other nodes' flows";
        return ring;
    }
    ring.port = route->port;
    ring.next_hop = route->next_hop;
    for (const auto& p : ports) {
        if (p.port_id == route->port) ring.mtu = p.mtu;
    }
    ring.enabled = true;
    return ring;
}

}  // namespace meshgate::dataplane
