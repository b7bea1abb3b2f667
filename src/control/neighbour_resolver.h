#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "dataplane/events.h"
#include "dataplane/snapshot.h"
#include "dataplane/tx_inbox.h"

struct rte_mempool;

namespace meshgate::control {

// The control thread's ARP table: learns from what workers saw, asks for what they need
// (ARP requests and IPv6 neighbour solicitations, sent by a worker through its inbox),
// and makes the immutable Neighbours a snapshot carries.
class NeighbourResolver {
public:
    NeighbourResolver(const dataplane::TxInboxes* tx, rte_mempool* pool);

    // Returns true when the table changed (publish a new snapshot then).
    bool learn(const dataplane::Event& event);
    // Every next hop `lb` routes to becomes wanted: call once per new load-balancing state.
    void want_next_hops(const dataplane::LbState& lb);
    // Asks, at most once per `retry_ns`, for every wanted address that is not known yet. Cheap
    // to call every round: it looks at the wanted list only when something new is wanted or
    // every `scan_ns`.
    void solicit(const dataplane::LbState& lb, uint64_t now_ns);
    void want(uint16_t port, const dataplane::AddressKey& address);
    // The table of what is known; the same one again while nothing new has been learnt (flows
    // then keep their resolved MACs across snapshots).
    std::shared_ptr<const dataplane::Neighbours> table(uint64_t generation);
    size_t known() const { return macs_.size(); }
    uint64_t requests_sent() const { return requests_; }

private:
    using Key = std::tuple<uint16_t, uint8_t, std::array<uint8_t, 16>>;
    static Key key(uint16_t port, const dataplane::AddressKey& a);
    void send_request(const dataplane::LbState& lb, uint16_t port, const dataplane::AddressKey& target);
    void transmit(rte_mbuf* m, uint16_t port);

    const dataplane::TxInboxes* tx_;
    rte_mempool* pool_;
    std::map<Key, rte_ether_addr> macs_;
    std::map<Key, uint64_t> wanted_;  // → when last asked (0: not yet)
    uint64_t requests_ = 0;
    bool fresh_ = false;  // a new address is wanted: scan now
    uint64_t next_scan_ns_ = 0;
    std::shared_ptr<const dataplane::Neighbours> table_;  // what table() made last; null once stale
    static constexpr uint64_t retry_ns = 1'000'000'000;
    static constexpr uint64_t scan_ns = 100'000'000;
};

}  // namespace meshgate::control
