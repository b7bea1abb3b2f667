#pragma once

// IP-in-IP (RFC 2003, and IPv6 in IP by protocol 41) for second-chance forwarding between the
// nodes of a tier (peer_ring.h). The L2 header stays in front; only the IP layers change.

#include <cstdint>

#include "dataplane/address_key.h"
#include "dataplane/packet.h"

struct rte_mbuf;

namespace meshgate::dataplane {

inline constexpr uint16_t outer_header_size(uint8_t family) { return family == 4 ? 20 : 40; }

// The IP packet of `v` (which is `m`'s frame) inside a new outer header of `source`'s family
// from `source` to `destination`, TTL 64. False when `m` has no room in front.
bool encapsulate(rte_mbuf* m, const PacketView& v, const AddressKey& source, const AddressKey& destination);

// The packet a tunnelled frame carries (`outer`: protocol 4 or 41), parsed in place: the
// inner view's offsets are in the same frame, after the outer header.
Drop parse_inner(const PacketView& outer, PacketView& inner);

// Takes the outer header away: the L2 header moves up to the inner packet and takes its
// ethertype. `m` then holds the frame `inner` describes, at its new place.
void decapsulate(rte_mbuf* m, const PacketView& outer, const PacketView& inner);

// Sends a tunnelled packet on to `destination`, its outer TTL one less and its hop count one
// more; the source stays.
void readdress(const PacketView& outer, const AddressKey& destination);

// How many nodes passed a tunnelled packet on: 0 from the node that started it. Kept in the
// outer IPv4 identification (free: the header has DF, RFC 6864) or the IPv6 flow label.
uint32_t outer_hops(const PacketView& outer);

// Turns a tunnel's packet back to where it came from: outer addresses swapped, TTL 64.
void reverse_outer(const PacketView& outer);

// The outer header's TTL (IPv4) or hop limit (IPv6).
uint8_t outer_ttl(const PacketView& outer);

}  // namespace meshgate::dataplane
