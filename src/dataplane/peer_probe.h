#pragma once

#include <cstdint>

#include <rte_ether.h>

#include "dataplane/address_key.h"

struct rte_mbuf;

namespace meshgate::dataplane {

// The control thread's liveness probe to a peer of the tier (peer_ring.h): an ICMP echo from
// this node's address to the peer's, inside the tunnel second chance uses, so that only a peer
// whose data plane runs answers it (Worker::answer_peer_probe); the node's kernel, which may
// outlive meshgated, never sees it. Written into the empty `m`, framed from `source_mac` to
// `next_hop_mac`. False when it does not fit.
bool write_peer_probe(rte_mbuf* m, const rte_ether_addr& source_mac, const rte_ether_addr& next_hop_mac,
                      const AddressKey& self, const AddressKey& peer, uint16_t sequence);

}  // namespace meshgate::dataplane
