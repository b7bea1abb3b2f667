#include "control/live_state.h"

#include <algorithm>

namespace meshgate::control {

namespace {

bool same_definition(const Endpoint& a, const Endpoint& b) {
    return a.port == b.port && a.weight == b.weight && a.healthy == b.healthy && a.hbone == b.hbone &&
           a.identity == b.identity && a.locality == b.locality && a.labels == b.labels;
}

}  // namespace

const char* to_string(EndpointSource source) { return source == EndpointSource::admin ? "admin" : "config"; }

std::string endpoint_identity(const Config& config, const Endpoint& endpoint) {
    const Service* service = config.find_service(endpoint.service);
    if (!service) return endpoint.service + " ?";
    return endpoint.service + " " + lb::endpoint_key(config, *service, endpoint);
}

void LiveState::index_services() {
    services_.clear();
    for (const auto& s : config_.services) services_.emplace(s.key(), &s);
}

const Service* LiveState::service(const std::string& key) const {
    auto it = services_.find(key);
    return it == services_.end() ? nullptr : it->second;
}

// Identities of `endpoints` in order; a repeated one (address-less endpoints of one remote
// network) gets "#2", "#3", … so that each stays distinct.
std::vector<std::string> LiveState::identities_of(const std::vector<Endpoint>& endpoints) const {
    std::vector<std::string> out;
    std::map<std::string, int> seen;
    for (const auto& e : endpoints) {
        auto id = identity(e);
        if (const int n = ++seen[id]; n > 1) id += "#" + std::to_string(n);
        out.push_back(std::move(id));
    }
    return out;
}

std::optional<uint32_t> LiveState::service_index(const std::string& key) const {
    const Service* s = service(key);
    if (!s) return std::nullopt;
    return static_cast<uint32_t>(s - config_.services.data());
}

std::string LiveState::identity(const Endpoint& endpoint) const {
    const Service* s = service(endpoint.service);
    if (!s) return endpoint.service + " ?";
    return endpoint.service + " " + lb::endpoint_key(config_, *s, endpoint);
}

LiveState::LiveState(Config config) {
    file_endpoints_ = std::move(config.endpoints);
    config.endpoints.clear();
    config_ = std::move(config);
    ++membership_version_;  // services may have come, gone or changed their ports
    index_services();
    rebuild_from(file_endpoints_);
}

std::optional<uint32_t> LiveState::find(const std::string& identity) const {
    auto it = slots_.find(identity);
    if (it == slots_.end()) return std::nullopt;
    return it->second;
}

std::optional<uint32_t> LiveState::find(const std::string& service, const IpAddress& address, uint16_t port) const {
    Endpoint probe;
    probe.service = service;
    probe.address = address;
    if (port != 0) probe.port = port;
    return find(identity(probe));
}

uint32_t LiveState::take_slot() {
    // Reuse the most recently freed slot last: a new endpoint rarely inherits a slot that
    // flows of a just-removed endpoint still count against.
    if (!free_slots_.empty()) {
        const uint32_t slot = free_slots_.front();
        free_slots_.erase(free_slots_.begin());
        return slot;
    }
    config_.endpoints.emplace_back();
    identities_.emplace_back();
    health_.emplace_back();
    sources_.push_back(EndpointSource::config);
    return static_cast<uint32_t>(config_.endpoints.size() - 1);
}

void LiveState::place(uint32_t slot, const std::string& identity, Endpoint endpoint, EndpointSource source) {
    touch(endpoint.service);
    ++membership_version_;
    health_[slot] = {endpoint.healthy, check_down_.count(identity) > 0 && check_down_[identity],
                     ejected_.count(identity) > 0 && ejected_[identity]};
    sources_[slot] = source;
    config_.endpoints[slot] = std::move(endpoint);
    identities_[slot] = identity;
    slots_[identity] = slot;
}

void LiveState::vacate(uint32_t slot) {
    touch(config_.endpoints[slot].service);
    ++membership_version_;
    config_.endpoints[slot] = Endpoint{};  // no service, no address: planned by nobody
    identities_[slot].clear();
    health_[slot] = {};
    sources_[slot] = EndpointSource::config;
    free_slots_.push_back(slot);
}

std::optional<std::string> LiveState::add(Endpoint endpoint) {
    if (!service(endpoint.service)) return "no service " + endpoint.service;
    if (!endpoint.address) return "an endpoint added through the admin API needs an address";
    const auto identity = this->identity(endpoint);
    if (slots_.count(identity)) return "endpoint " + identity + " exists (use `endpoint set` to change it)";
    AdminChange change;
    // Re-adding an endpoint of the file that the admin API removed cancels the removal.
    if (auto it = admin_.find(identity); it != admin_.end() && it->second.kind == AdminChange::Kind::removed) {
        admin_.erase(it);
        change.kind = AdminChange::Kind::modified;
    } else {
        change.kind = AdminChange::Kind::added;
    }
    change.endpoint = endpoint;
    if (change.kind == AdminChange::Kind::added) admin_[identity] = change;
    place(take_slot(), identity, std::move(endpoint), EndpointSource::admin);
    return std::nullopt;
}

std::optional<std::string> LiveState::set(uint32_t slot, std::optional<bool> healthy, std::optional<uint32_t> weight) {
    if (slot >= config_.endpoints.size() || !occupied(slot)) return "no such endpoint";
    auto& e = config_.endpoints[slot];
    const auto& identity = identities_[slot];
    auto& change = admin_[identity];
    if (change.kind == AdminChange::Kind::added) {
        if (healthy) change.endpoint.healthy = *healthy;
        if (weight) change.endpoint.weight = *weight;
    } else {
        change.kind = AdminChange::Kind::modified;
        if (healthy) change.healthy = healthy;
        if (weight) change.weight = weight;
    }
    if (healthy) {
        e.healthy = *healthy;
        health_[slot].declared_healthy = *healthy;
    }
    if (weight) e.weight = *weight;
    sources_[slot] = EndpointSource::admin;
    touch(e.service);
    return std::nullopt;
}

std::optional<std::string> LiveState::remove(uint32_t slot) {
    if (slot >= config_.endpoints.size() || !occupied(slot)) return "no such endpoint";
    const auto identity = identities_[slot];
    auto it = admin_.find(identity);
    if (it != admin_.end() && it->second.kind == AdminChange::Kind::added) {
        admin_.erase(it);
    } else {
        AdminChange change;
        change.kind = AdminChange::Kind::removed;
        admin_[identity] = change;
    }
    slots_.erase(identity);
    vacate(slot);
    return std::nullopt;
}

bool LiveState::set_check_down(uint32_t slot, bool down) {
    if (slot >= config_.endpoints.size() || !occupied(slot) || health_[slot].check_down == down) return false;
    health_[slot].check_down = down;
    check_down_[identities_[slot]] = down;
    touch(config_.endpoints[slot].service);
    return true;
}

bool LiveState::set_ejected(uint32_t slot, bool ejected) {
    if (slot >= config_.endpoints.size() || !occupied(slot) || health_[slot].ejected == ejected) return false;
    health_[slot].ejected = ejected;
    ejected_[identities_[slot]] = ejected;
    touch(config_.endpoints[slot].service);
    return true;
}

// The file's endpoints with the admin changes on top, placed in their slots: a surviving
// identity keeps its slot, a vanished one frees it, a new one takes a free one.
void LiveState::rebuild_from(const std::vector<Endpoint>& file_endpoints) {
    // In file order, then the admin API's additions: a first start numbers slots as the file
    // does, so the live plan and an offline plan of the same file agree on endpoint ids.
    struct Wanted {
        std::string identity;
        Endpoint endpoint;
        EndpointSource source;
    };
    std::vector<Wanted> wanted;
    std::set<std::string> wanted_ids;
    const auto ids = identities_of(file_endpoints);
    for (size_t i = 0; i < file_endpoints.size(); ++i) {
        Endpoint e = file_endpoints[i];
        EndpointSource source = EndpointSource::config;
        if (auto it = admin_.find(ids[i]); it != admin_.end()) {
            if (it->second.kind == AdminChange::Kind::removed) continue;
            if (it->second.healthy) e.healthy = *it->second.healthy;
            if (it->second.weight) e.weight = *it->second.weight;
            source = EndpointSource::admin;
        }
        if (wanted_ids.insert(ids[i]).second) wanted.push_back({ids[i], std::move(e), source});
    }
    for (const auto& [identity, change] : admin_) {
        if (change.kind == AdminChange::Kind::added && wanted_ids.insert(identity).second) {
            wanted.push_back({identity, change.endpoint, EndpointSource::admin});
        }
    }
    for (auto it = slots_.begin(); it != slots_.end();) {
        if (wanted_ids.count(it->first)) {
            ++it;
            continue;
        }
        vacate(it->second);
        it = slots_.erase(it);
    }
    for (auto& w : wanted) {
        auto it = slots_.find(w.identity);
        const uint32_t slot = it != slots_.end() ? it->second : take_slot();
        place(slot, w.identity, std::move(w.endpoint), w.source);
    }
    all_dirty_ = true;
}

ReloadReport LiveState::reload(Config config, bool discard_admin) {
    ReloadReport report;
    report.services_before = config_.services.size();
    report.services_after = config.services.size();
    std::map<std::string, Endpoint> before;
    for (const auto& [identity, slot] : slots_) before.emplace(identity, config_.endpoints[slot]);

    std::vector<Endpoint> file = std::move(config.endpoints);
    config.endpoints = std::move(config_.endpoints);  // the slots stay where they are
    config_ = std::move(config);
    ++membership_version_;  // services may have come, gone or changed their ports
    index_services();
    if (discard_admin) {
        for (const auto& [identity, change] : admin_) report.admin_changes_dropped.push_back(identity + ": discarded");
        admin_.clear();
    } else {
        const auto ids = identities_of(file);
        const std::set<std::string> in_file(ids.begin(), ids.end());
        for (auto it = admin_.begin(); it != admin_.end();) {
            const bool defined = in_file.count(it->first) > 0;
            std::string why;
            if (it->second.kind == AdminChange::Kind::added && defined) why = "the file now defines it";
            else if (it->second.kind == AdminChange::Kind::added && !service(it->second.endpoint.service)) why = "its service is gone";
            else if (it->second.kind != AdminChange::Kind::added && !defined) why = "the file no longer has it";
            if (why.empty()) {
                ++it;
                continue;
            }
            report.admin_changes_dropped.push_back(it->first + ": " + why);
            it = admin_.erase(it);
        }
    }
    report.admin_changes_kept = admin_.size();
    file_endpoints_ = std::move(file);
    // Identities depend on the services (their target ports): recompute every slot's.
    std::map<std::string, uint32_t> rekeyed;
    for (const auto& [old_identity, slot] : slots_) {
        if (service(config_.endpoints[slot].service)) rekeyed[identities_[slot] = identity(config_.endpoints[slot])] = slot;
        else vacate(slot);
    }
    slots_ = std::move(rekeyed);
    rebuild_from(file_endpoints_);

    for (const auto& [identity, slot] : slots_) {
        auto it = before.find(identity);
        if (it == before.end()) ++report.endpoints_added;
        else if (!same_definition(it->second, config_.endpoints[slot])) ++report.endpoints_changed;
    }
    for (const auto& [identity, e] : before) report.endpoints_removed += slots_.count(identity) == 0;
    return report;
}

std::vector<bool> LiveState::take_replan() {
    std::vector<bool> replan(config_.services.size(), all_dirty_);
    if (!all_dirty_) {
        for (size_t i = 0; i < config_.services.size(); ++i) {
            const auto& s = config_.services[i];
            replan[i] = dirty_services_.count(s.key()) > 0 || (!s.waypoint.empty() && dirty_services_.count(s.waypoint) > 0);
        }
    }
    dirty_services_.clear();
    all_dirty_ = false;
    return replan;
}

}  // namespace meshgate::control
