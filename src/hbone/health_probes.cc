#include "hbone/health_probes.h"

#include "hbone/client_pool.h"

namespace meshgate::hbone {

HealthProbes::HealthProbes(EventLoop& loop, ClientPool& pool, std::function<void(ProbeResult)> report)
    : loop_(loop), pool_(pool), report_(std::move(report)) {}

HealthProbes::~HealthProbes() {
    for (auto& [id, probe] : probes_) loop_.retire(std::move(probe.link));
}

void HealthProbes::start(const ProbeRequest& r) {
    const int32_t id = next_++;
    probes_[id] = {r.token, nullptr};  // before open(): it may answer at once
    auto link = pool_.open(*this, id, SocketAddress{r.address, hbone_port}, r.identity, SocketAddress{r.address, r.port}.to_string(), {});
    auto it = probes_.find(id);
    if (it == probes_.end()) {
        loop_.retire(std::move(link));  // answered already
    } else if (!link) {
        finish(id, false, r.identity.empty() ? "the endpoint has no identity to check its ztunnel against" : "HBONE connect failed");
    } else {
        it->second.link = std::move(link);
    }
}

void HealthProbes::tick(Clock::time_point now) {
    std::vector<int32_t> late;
    for (auto& [id, p] : probes_) {
        if (p.link && p.link->expired(now)) late.push_back(id);
    }
    for (int32_t id : late) finish(id, false, "timeout");
}

void HealthProbes::finish(int32_t id, bool ok, std::string what) {
    auto it = probes_.find(id);
    if (it == probes_.end()) return;
    report_({it->second.token, ok, std::move(what)});
    loop_.retire(std::move(it->second.link));  // its callback may be running
    probes_.erase(it);
}

void HealthProbes::upstream_connected(int32_t id, Outcome outcome) {
    switch (outcome) {
        case Outcome::connected: return finish(id, true, "ok");
        case Outcome::denied: return finish(id, false, "CONNECT answered 401");
        case Outcome::timed_out: return finish(id, false, "timeout");
        case Outcome::failed: return finish(id, false, "HBONE connect failed");
    }
}

}  // namespace meshgate::hbone
