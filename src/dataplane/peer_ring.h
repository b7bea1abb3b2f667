#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "dataplane/address_key.h"

namespace meshgate::dataplane {

struct PortInfo;

// Second chance between the nodes of a tier (docs/scale-out.md). When the routers' ECMP set
// changes, they rehash, and some established connections arrive at a node that has no state
// for them. Such a node does not answer RST: it passes the segment, IP-in-IP, to the next
// node of the ring of `[announce] peers` (ordered by address, the same ring on every node).
// Each node that knows the flow serves it; the others pass it on, keeping the first node's
// address as the outer source, until the ring comes back to that node: then the last one
// answers RST, as one node alone would have. At most one hop per node, none for new flows.
// The ring holds only the peers that answer the control thread's probes (control/
// peer_liveness.h): a dead node is skipped, never a black hole.
struct PeerRing {
    bool enabled = false;   // this node has a place and a live next node
    uint8_t family = 0;     // of every peer, and of the outer header
    AddressKey self{};      // this node's address in the ring: outer source of what it starts
    AddressKey next{};      // the live node after this one
    uint16_t port = 0;      // towards `next`
    AddressKey next_hop{};  // `next` itself, or the port's gateway
    uint16_t mtu = 0;       // of that port: the largest tunnelled packet
    uint32_t members = 0;   // this node and the live peers: no segment makes more hops
    std::vector<AddressKey> peers;  // every configured peer but this node: accepted as sources
    // Why a configured ring cannot be used (empty: it can, or none is configured).
    std::string unusable_because;

    bool is_peer(const AddressKey& a) const;
};

// This node's address in a tier of `configured` peers: the address of its ports that the list
// names, else its first one of the family (the list may leave this node out).
std::optional<IpAddress> ring_self(const std::vector<IpAddress>& configured, const std::vector<PortInfo>& ports);

// The ring of `configured` peers seen from a node with `ports`, with `live` (a subset) as the
// nodes a segment may be passed to.
PeerRing make_peer_ring(const std::vector<IpAddress>& configured, const std::vector<IpAddress>& live,
                        const std::vector<PortInfo>& ports);

}  // namespace meshgate::dataplane
