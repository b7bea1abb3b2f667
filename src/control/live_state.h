#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "lb/planner.h"

namespace meshgate::control {

// Where the running definition of an endpoint comes from.
enum class EndpointSource : uint8_t { config, admin };
const char* to_string(EndpointSource source);

// "namespace/name address:port": an endpoint's identity across updates, reloads and snapshots.
std::string endpoint_identity(const Config& config, const Endpoint& endpoint);

// What the admin API changed on top of the TOML file, kept by identity.
struct AdminChange {
    enum class Kind : uint8_t { added, modified, removed };
    Kind kind = Kind::modified;
    Endpoint endpoint;               // added: the whole endpoint
    std::optional<bool> healthy;     // modified
    std::optional<uint32_t> weight;  // modified
};

// What a reload did, for its reply.
struct ReloadReport {
    size_t endpoints_added = 0, endpoints_removed = 0, endpoints_changed = 0;
    size_t services_before = 0, services_after = 0;
    size_t admin_changes_kept = 0;
    std::vector<std::string> admin_changes_dropped;  // why each went
};

// The control thread's running model: the TOML file's configuration with the admin API's
// changes on top, endpoint health from active checks and outlier detection, and each endpoint's
// stable slot. Config::endpoints is indexed by slot: an endpoint keeps its index (its
// counters, its entry in unchanged selection tables) for as long as it exists; a removed
// endpoint leaves an empty slot (no service, no address) that the next new endpoint may take.
//
// Admin changes live until the daemon stops: a reload keeps them (a drained endpoint stays
// drained), except where the new file removes the endpoint they change or now defines an
// endpoint the admin API added; `reload(…, discard_admin = true)` drops them all. A restart
// starts from the file alone.
class LiveState {
public:
    explicit LiveState(Config config);

    const Config& config() const { return config_; }
    const std::vector<lb::EndpointHealth>& health() const { return health_; }
    EndpointSource source(uint32_t slot) const { return sources_[slot]; }
    bool occupied(uint32_t slot) const { return !config_.endpoints[slot].service.empty(); }
    // The identity of the endpoint in `slot` (endpoint_identity()); empty when vacant.
    const std::string& slot_identity(uint32_t slot) const { return identities_[slot]; }
    std::optional<uint32_t> find(const std::string& identity) const;
    // The slot of the endpoint of `service` at `address` and `port` (0: the service's target port).
    std::optional<uint32_t> find(const std::string& service, const IpAddress& address, uint16_t port) const;
    size_t admin_changes() const { return admin_.size(); }
    // The service `key` ("namespace/name") of config(), found through an index.
    const Service* service(const std::string& key) const;
    // The index in config().services of the service `key` ("namespace/name").
    std::optional<uint32_t> service_index(const std::string& key) const;
    // Changes whenever an endpoint comes or goes (or the file is reloaded): what health
    // checks and outlier detection follow.
    uint64_t membership_version() const { return membership_version_; }

    // Admin updates. Each returns an error message, or nothing when applied.
    std::optional<std::string> add(Endpoint endpoint);
    std::optional<std::string> set(uint32_t slot, std::optional<bool> healthy, std::optional<uint32_t> weight);
    std::optional<std::string> remove(uint32_t slot);
    // A new file: services may change, so every service is planned again.
    ReloadReport reload(Config config, bool discard_admin);

    // Health that is not declared: results of active checks and outlier ejections.
    // Return whether anything changed.
    bool set_check_down(uint32_t slot, bool down);
    bool set_ejected(uint32_t slot, bool ejected);

    // The services whose plans the changes since the last call touch (a service whose
    // waypoint changed included), by index in config().services; all of them after a reload.
    std::vector<bool> take_replan();
    bool dirty() const { return all_dirty_ || !dirty_services_.empty(); }

private:
    uint32_t take_slot();
    void place(uint32_t slot, const std::string& identity, Endpoint endpoint, EndpointSource source);
    void vacate(uint32_t slot);
    void touch(const std::string& service) { dirty_services_.insert(service); }
    void rebuild_from(const std::vector<Endpoint>& file_endpoints);
    void index_services();
    std::string identity(const Endpoint& endpoint) const;  // endpoint_identity(), with the index
    std::vector<std::string> identities_of(const std::vector<Endpoint>& endpoints) const;

    Config config_;                       // endpoints by slot
    std::unordered_map<std::string, const Service*> services_;  // of config_, by key
    std::vector<std::string> identities_;  // by slot; empty when vacant
    std::vector<Endpoint> file_endpoints_;  // the file's, as read
    std::vector<lb::EndpointHealth> health_;
    std::vector<EndpointSource> sources_;
    std::map<std::string, uint32_t> slots_;  // identity → slot
    std::vector<uint32_t> free_slots_;
    std::map<std::string, AdminChange> admin_;  // identity → change
    std::map<std::string, bool> check_down_, ejected_;  // by identity: survive reloads
    std::set<std::string> dirty_services_;
    bool all_dirty_ = true;
    uint64_t membership_version_ = 0;
};

}  // namespace meshgate::control
