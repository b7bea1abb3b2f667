#include "dataplane/tx_inbox.h"

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>

namespace meshgate::dataplane {

TxInboxes::TxInboxes(std::vector<rte_ring*> rings, std::vector<uint16_t> tx_queues)
    : rings_(std::move(rings)), tx_queues_(std::move(tx_queues)) {}

uint32_t TxInboxes::owner(uint16_t port, uint32_t sender) const {
    const uint32_t senders = std::min<uint32_t>(std::max<uint16_t>(tx_queues(port), 1), static_cast<uint32_t>(rings_.size()));
    return sender % senders;
}

bool TxInboxes::send(rte_mbuf* m, uint16_t port, uint32_t sender) const {
    if (rings_.empty()) return false;
    m->port = port;  // the owner reads the destination port here
    return rte_ring_mp_enqueue(rings_[owner(port, sender)], m) == 0;
}

}  // namespace meshgate::dataplane
