#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>

#include "dataplane/snapshot.h"

struct rte_rcu_qsbr;

namespace meshgate::dataplane {

// Publishes Snapshots to the workers through one atomic pointer and frees each old one only
// after every worker has passed a quiescent state (rte_rcu_qsbr): publishing never waits for
// a worker, and a worker never waits for anything. Control-thread only.
class SnapshotPublisher {
public:
    explicit SnapshotPublisher(uint32_t workers);
    ~SnapshotPublisher();
    SnapshotPublisher(const SnapshotPublisher&) = delete;
    SnapshotPublisher& operator=(const SnapshotPublisher&) = delete;

    const std::atomic<const Snapshot*>& pointer() const { return current_; }
    rte_rcu_qsbr* rcu() const { return rcu_; }
    const Snapshot& latest() const { return *owner_; }

    // Returns the RCU token that visible() checks.
    uint64_t publish(std::unique_ptr<Snapshot> next);
    // Whether every worker has passed a quiescent state since the publish that returned `token`,
    // so that each reads that snapshot or a newer one. Never waits.
    bool visible(uint64_t token) const;
    // Frees the retired snapshots whose grace period has ended; returns how many remain.
    size_t reclaim();

private:
    rte_rcu_qsbr* rcu_ = nullptr;
    std::atomic<const Snapshot*> current_{nullptr};
    std::unique_ptr<Snapshot> owner_;
    std::deque<std::pair<uint64_t, std::unique_ptr<Snapshot>>> retired_;
};

}  // namespace meshgate::dataplane
