#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/counters.h"

namespace meshgate::control {

struct Totals {
    uint64_t packets = 0, bytes = 0, new_flows = 0, active_flows = 0, closing_flows = 0, refused = 0;
};

// The workers' per-endpoint and per-service counters, summed, as the endpoint or service that
// now holds each index sees them. Workers count by endpoint slot and service index; when an
// index changes hands (a freed slot taken by a new endpoint, services renumbered by a reload),
// what the index had counted so far becomes a baseline that is subtracted: counts are never
// credited to the wrong endpoint or service. Active flows are a gauge and are not rebased:
// flows still pinned to a slot's previous endpoint count until they end.
class CounterTotals {
public:
    explicit CounterTotals(std::vector<const dataplane::WorkerCounters*> workers) : workers_(std::move(workers)) {}

    // `endpoints[slot]` and `services[index]`: who holds each index now (empty: nobody).
    void follow(const std::vector<std::string>& endpoints, const std::vector<std::string>& services);

    Totals endpoint(uint32_t slot) const;
    Totals service(uint32_t index) const;
    const std::vector<const dataplane::WorkerCounters*>& workers() const { return workers_; }

private:
    static Totals sum(const std::vector<const dataplane::WorkerCounters*>& workers,
                      const std::vector<dataplane::EndpointCounters> dataplane::WorkerCounters::*table, uint32_t index);
    static Totals minus(Totals a, const Totals& b);

    std::vector<const dataplane::WorkerCounters*> workers_;
    std::vector<std::string> endpoint_owner_, service_owner_;
    std::vector<Totals> endpoint_base_, service_base_;
};

}  // namespace meshgate::control
