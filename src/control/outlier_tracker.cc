#include "control/outlier_tracker.h"

#include <algorithm>

namespace meshgate::control {

namespace {

const char* result_text(lb::ConnectResult r) {
    switch (r) {
        case lb::ConnectResult::success: return "connected";
        case lb::ConnectResult::failure: return "consecutive connect failures (RST or ICMP unreachable answering the SYN)";
        case lb::ConnectResult::timeout: return "consecutive connect timeouts (no SYN-ACK)";
    }
    return "";
}

}  // namespace

void OutlierTracker::sync(const LiveState& live) {
    const auto& config = live.config();
    std::map<std::string, std::vector<uint32_t>> members;
    std::map<std::string, OutlierDetectionPolicy> policies;
    for (const auto& service : config.services) {
        const auto* rule = lb::find_destination_rule(config, service);
        if (rule && rule->outlier_detection) {
            members[service.key()];
            policies[service.key()] = *rule->outlier_detection;
        }
    }
    for (uint32_t slot = 0; slot < config.endpoints.size(); ++slot) {
        if (!live.occupied(slot)) continue;
        auto it = members.find(config.endpoints[slot].service);
        if (it != members.end()) it->second.push_back(slot);
    }
    std::map<std::string, ServiceDetector> next;
    for (auto& [key, slots] : members) {
        auto old = services_.find(key);
        if (old != services_.end() && old->second.slots == slots &&
            old->second.detector.policy().base_ejection_time == policies[key].base_ejection_time) {
            next.emplace(key, std::move(old->second));
            continue;
        }
        ServiceDetector d;
        d.detector = lb::OutlierDetector(policies[key], slots.size());
        d.slots = slots;
        for (size_t h = 0; h < slots.size(); ++h) {
            d.host[slots[h]] = h;
            if (old == services_.end()) continue;
            if (auto was = old->second.host.find(slots[h]); was != old->second.host.end()) {
                d.detector.set_state(h, old->second.detector.state(was->second));
            }
        }
        d.next_tick = old != services_.end() ? old->second.next_tick : MonotonicTime{0};
        next.emplace(key, std::move(d));
    }
    services_ = std::move(next);
    for (auto it = ejections_.begin(); it != ejections_.end();) {
        it = live.occupied(it->first) ? std::next(it) : ejections_.erase(it);
    }
}

OutlierTracker::ServiceDetector* OutlierTracker::of(uint32_t slot, const LiveState& live, size_t* host) {
    if (slot >= live.config().endpoints.size() || !live.occupied(slot)) return nullptr;
    auto it = services_.find(live.config().endpoints[slot].service);
    if (it == services_.end()) return nullptr;
    auto h = it->second.host.find(slot);
    if (h == it->second.host.end()) return nullptr;
    *host = h->second;
    return &it->second;
}

void OutlierTracker::eject(ServiceDetector& d, size_t host, MonotonicTime now, LiveState& live, const char* why) {
    const auto& state = d.detector.state(host);
    const auto& policy = d.detector.policy();
    const Duration length = std::min(policy.base_ejection_time * state.backoff, d.detector.max_ejection_time());
    ejections_[d.slots[host]] = {why, now, now + length};
    live.set_ejected(d.slots[host], true);
    ++ejections_total_;
}

bool OutlierTracker::record(uint32_t slot, lb::ConnectResult result, MonotonicTime now, LiveState& live) {
    size_t host = 0;
    ServiceDetector* d = of(slot, live, &host);
    if (!d || !d->detector.record(host, result, now)) return false;
    eject(*d, host, now, live, result_text(result));
    return true;
}

size_t OutlierTracker::tick(MonotonicTime now, LiveState& live) {
    size_t returned = 0;
    for (auto& [key, d] : services_) {
        if (now < d.next_tick) continue;
        d.next_tick = now + d.detector.policy().interval;
        for (size_t host : d.detector.tick(now)) {
            ejections_.erase(d.slots[host]);
            live.set_ejected(d.slots[host], false);
            ++returned;
        }
    }
    return returned;
}

void OutlierTracker::on_active_check_success(uint32_t slot, LiveState& live) {
    size_t host = 0;
    ServiceDetector* d = of(slot, live, &host);
    if (!d || !d->detector.ejected(host)) return;
    d->detector.on_active_check_success(host);
    ejections_.erase(slot);
    live.set_ejected(slot, false);
}

std::optional<Ejection> OutlierTracker::ejection(uint32_t slot) const {
    auto it = ejections_.find(slot);
    if (it == ejections_.end()) return std::nullopt;
    return it->second;
}

uint64_t OutlierTracker::overflows() const {
    uint64_t n = 0;
    for (const auto& [key, d] : services_) n += d.detector.overflows();
    return n;
}

}  // namespace meshgate::control
