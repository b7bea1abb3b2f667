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
    // Asks, at most once per `retry_ns`, for every next hop the plan routes to and any
    // address a worker asked for, that is not known yet.
    void solicit(const dataplane::LbState& lb, uint64_t now_ns);
    void want(uint16_t port, const dataplane::AddressKey& address);
    std::shared_ptr<const dataplane::Neighbours> table(uint64_t generation) const;
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
    static constexpr uint64_t retry_ns = 1'000'000'000;
};

}  // namespace meshgate::control
