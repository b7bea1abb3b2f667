#pragma once

#include <cstdint>
#include <vector>

struct rte_mbuf;
struct rte_ring;

namespace meshgate::dataplane {

// Frames for a port, from a thread that has no tx queue of its own there: the control thread
// (ARP/ND requests, the kernel's traffic from the exception taps) and any worker beyond a
// port's tx queue count. Each worker drains its inbox (one multi-producer ring) onto its own
// queues, so no tx queue is ever shared.
class TxInboxes {
public:
    TxInboxes() = default;
    // `rings[w]`: worker w's inbox; `tx_queues[port]`: the tx queues of each port id (0: none).
    TxInboxes(std::vector<rte_ring*> rings, std::vector<uint16_t> tx_queues);

    // The worker that sends `port`'s frames for `sender`; it owns tx queue `owner` there.
    uint32_t owner(uint16_t port, uint32_t sender) const;
    // Hands `m` to the owner of a queue on `port`; false when its inbox is full (the caller
    // still owns `m`).
    bool send(rte_mbuf* m, uint16_t port, uint32_t sender = 0) const;
    rte_ring* inbox(uint32_t worker) const { return rings_[worker]; }
    uint16_t tx_queues(uint16_t port) const { return port < tx_queues_.size() ? tx_queues_[port] : 0; }
    bool empty() const { return rings_.empty(); }

private:
    std::vector<rte_ring*> rings_;
    std::vector<uint16_t> tx_queues_;
};

}  // namespace meshgate::dataplane
