#pragma once

#include <memory>

#include "control/companion.h"
#include "hbone/proxy.h"

namespace meshgate::daemon {

// The HBONE proxy beside the control thread: each snapshot's plan becomes its catalog, and its
// counters join the stats and the metrics.
class HboneCompanion final : public control::Companion, private control::RemoteProber {
public:
    // Starts the proxy on `[hbone]` of the running snapshot's configuration, its threads on
    // `cpus`.
    HboneCompanion(const dataplane::Snapshot& running, const cpu_set_t& cpus);
    ~HboneCompanion() override;

    void published(const dataplane::Snapshot& snapshot) override;
    std::vector<std::pair<uint32_t, lb::ConnectResult>> take_connect_outcomes() override { return proxy_->take_outcomes(); }
    void add_stats(nlohmann::json& doc) override;
    void add_metrics(control::PrometheusWriter& w) override;
    control::RemoteProber* prober() override { return this; }

private:
    // RemoteProber: the proxy's threads make the CONNECT.
    void probe(uint64_t token, const IpAddress& address, uint16_t port, const std::string& identity) override {
        proxy_->probe({token, address, port, identity});
    }
    std::vector<Result> results() override {
        std::vector<Result> out;
        for (auto& r : proxy_->take_probe_results()) out.push_back({r.token, r.ok, std::move(r.what)});
        return out;
    }

    const dataplane::LbState* followed_ = nullptr;
    std::unique_ptr<hbone::Proxy> proxy_;
};

}  // namespace meshgate::daemon
