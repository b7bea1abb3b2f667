#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/address.h"
#include "core/duration.h"
#include "dataplane/snapshot.h"
#include "dataplane/tx_inbox.h"

struct rte_mempool;

namespace meshgate::control {

class NeighbourResolver;

// Which peers of the tier ([announce] peers) have a running data plane: each is probed every
// `peer_probe_interval` through the second-chance tunnel (dataplane/peer_probe.h) and counts
// as live while it answered within `misses_allowed` intervals. Only live peers are in the ring
// a snapshot carries, so a segment is never passed to a dead node.
class PeerLiveness {
public:
    static constexpr int misses_allowed = 5;

    PeerLiveness(const dataplane::TxInboxes* tx, rte_mempool* pool) : tx_(tx), pool_(pool) {}

    // Sends the probes that are due and ages the answers. True when the live set changed:
    // publish a snapshot with the new ring.
    bool tick(const dataplane::LbState& lb, const dataplane::Neighbours& neighbours, MonotonicTime now);
    void answered(const dataplane::AddressKey& peer, MonotonicTime now);
    std::vector<IpAddress> live() const;
    // The ring of `lb`'s peers as seen now.
    dataplane::PeerRing ring(const dataplane::LbState& lb) const;
    // Each configured peer but this node: live or not, and how long since its last answer.
    nlohmann::json status(MonotonicTime now) const;

private:
    struct Peer {
        IpAddress address;
        std::optional<MonotonicTime> answered;
        bool live = false;
    };
    void follow(const std::vector<IpAddress>& configured);

    const dataplane::TxInboxes* tx_;
    rte_mempool* pool_;
    std::vector<Peer> peers_;
    MonotonicTime next_probe_{0};
    uint16_t sequence_ = 0;
};

}  // namespace meshgate::control
