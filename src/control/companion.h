#pragma once

#include <nlohmann/json.hpp>

#include "control/prometheus.h"
#include "control/remote_prober.h"
#include "dataplane/snapshot.h"
#include "lb/outlier_detector.h"

namespace meshgate::control {

// A part of meshgated that runs beside the control thread (the HBONE proxy): it follows each
// published snapshot, feeds outlier detection, and its counters join `meshgatectl stats` and
// the metrics.
class Companion {
public:
    virtual ~Companion() = default;
    virtual void published(const dataplane::Snapshot& snapshot) = 0;
    // Connect outcomes towards endpoints (slot, result) since the last call: outlier
    // detection counts them with the workers'.
    virtual std::vector<std::pair<uint32_t, lb::ConnectResult>> take_connect_outcomes() = 0;
    virtual void add_stats(nlohmann::json& doc) = 0;
    virtual void add_metrics(PrometheusWriter& w) = 0;
    // Who makes `kind = "hbone"` health probes, if this part can.
    virtual RemoteProber* prober() { return nullptr; }
};

}  // namespace meshgate::control
