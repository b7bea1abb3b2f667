#include "dataplane/snapshot_publisher.h"

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <stdexcept>

namespace meshgate::dataplane {

SnapshotPublisher::SnapshotPublisher(uint32_t workers) {
    const size_t size = rte_rcu_qsbr_get_memsize(workers);
    rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("snapshot_rcu", size, RTE_CACHE_LINE_SIZE));
    if (!rcu_ || rte_rcu_qsbr_init(rcu_, workers) != 0) throw std::runtime_error("RCU (rte_rcu_qsbr) initialization failed");
}

SnapshotPublisher::~SnapshotPublisher() {
    retired_.clear();  // workers have stopped by now
    rte_free(rcu_);
}

uint64_t SnapshotPublisher::publish(std::unique_ptr<Snapshot> next) {
    current_.store(next.get(), std::memory_order_release);
    const uint64_t token = rte_rcu_qsbr_start(rcu_);
    if (owner_) retired_.emplace_back(token, std::move(owner_));
    owner_ = std::move(next);
    return token;
}

bool SnapshotPublisher::visible(uint64_t token) const { return rte_rcu_qsbr_check(rcu_, token, false) == 1; }

size_t SnapshotPublisher::reclaim() {
    while (!retired_.empty() && rte_rcu_qsbr_check(rcu_, retired_.front().first, false) == 1) retired_.pop_front();
    return retired_.size();
}

}  // namespace meshgate::dataplane
