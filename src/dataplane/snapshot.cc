#include "dataplane/snapshot.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <unordered_map>

#include "core/hash.h"
#include "dataplane/crc_hash.h"

namespace meshgate::dataplane {

namespace {

// rte_hash names are global to the process; every table gets a new one.
std::string unique_name(const char* kind) {
    static std::atomic<uint64_t> next{0};
    return std::string(kind) + "_" + std::to_string(next++);
}

rte_hash* make_hash(const char* kind, uint32_t entries, uint32_t key_length) {
    const auto name = unique_name(kind);
    rte_hash_parameters params{};
    params.name = name.c_str();
    params.entries = std::max<uint32_t>(entries * 2, 64);
    params.key_len = key_length;
    params.hash_func = crc_hash;  // every key here is a multiple of 4 bytes
    params.socket_id = SOCKET_ID_ANY;
    params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    rte_hash* h = rte_hash_create(&params);
    if (!h) throw std::runtime_error(name + ": " + rte_strerror(rte_errno));
    return h;
}

}  // namespace

Neighbours::Neighbours(uint64_t generation, const std::vector<NeighbourEntry>& entries) : generation_(generation) {
    hash_ = make_hash("neigh", static_cast<uint32_t>(entries.size()), sizeof(Key));
    for (const auto& e : entries) macs_.push_back(e.mac);
    // Data pointers index macs_, which no longer moves.
    for (size_t i = 0; i < entries.size(); ++i) {
        Key key{entries[i].address, entries[i].port, {}};
        rte_hash_add_key_data(hash_, &key, &macs_[i]);
    }
}

Neighbours::~Neighbours() { rte_hash_free(hash_); }

const rte_ether_addr* Neighbours::find(uint16_t port, const AddressKey& address) const {
    Key key{address, port, {}};
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &key, &data) < 0) return nullptr;
    return static_cast<const rte_ether_addr*>(data);
}

namespace {

// A service's plans, per family where its endpoints mix IPv4 and IPv6.
// `previous`: the service's tables in the snapshot before, whose unchanged levels are reused.
std::shared_ptr<const ServiceTables> plan_tables(const Config& config, const lb::EndpointIndex& index,
                                                 const std::vector<lb::EndpointHealth>& health, uint32_t service,
                                                 const ServiceTables* previous) {
    auto tables = std::make_shared<ServiceTables>();
    tables->plan = lb::plan_service(config, index, health, service, lb::AddressFamily::any, previous ? &previous->plan : nullptr);
    bool has_v4 = false, has_v6 = false;
    for (uint32_t id : index.of(config.services[service].key())) {
        const auto& a = config.endpoints[id].address;
        has_v4 = has_v4 || (a && a->is_v4());
        has_v6 = has_v6 || (a && !a->is_v4());
    }
    if (has_v4 && has_v6) {
        const lb::ServicePlan* v4 = previous && previous->v4 ? &*previous->v4 : nullptr;
        const lb::ServicePlan* v6 = previous && previous->v6 ? &*previous->v6 : nullptr;
        tables->v4 = lb::plan_service(config, index, health, service, lb::AddressFamily::v4, v4);
        tables->v6 = lb::plan_service(config, index, health, service, lb::AddressFamily::v6, v6);
    }
    return tables;
}

bool same_routes(const std::vector<PortInfo>& a, const std::vector<PortInfo>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const PortInfo& x, const PortInfo& y) {
        return x.port_id == y.port_id && x.prefixes == y.prefixes && x.gateway == y.gateway;
    });
}

}  // namespace

LbState::LbState(Config config, std::vector<PortInfo> ports, const std::vector<lb::EndpointHealth>& health,
                 const LbState* previous, const std::vector<bool>* replan, std::optional<uint64_t> membership)
    : config_(std::move(config)),
      health_(health),
      plan_warnings_(lb::plan_warnings(config_)),
      ports_(std::move(ports)),
      membership_(membership) {
    const bool same_members = previous && membership && previous->membership_ == membership;
    directory_ = same_members ? previous->directory_ : std::make_shared<const EndpointDirectory>(config_);
    const auto& index = directory_->by_service;
    size_t vip_count = 0;
    for (const auto& s : config_.services) vip_count += s.vips.size() * s.ports.size();
    vip_index_ = FlatIndex<VipKey>(vip_count);

    // Owned addresses: the node's, the VIPs, the SNAT pools.
    std::map<std::pair<uint8_t, std::array<uint8_t, 16>>, uint8_t> roles;
    auto own = [&](const IpAddress& a, AddressRole role) {
        auto k = AddressKey::from(a);
        std::array<uint8_t, 16> bytes;
        std::memcpy(bytes.data(), k.address, 16);
        roles[{k.family, bytes}] |= role;
    };
    for (const auto& p : ports_) {
        if (p.port_id >= snat_pools_.size()) snat_pools_.resize(p.port_id + 1u);
        for (const auto& a : p.snat) snat_pools_[p.port_id][a.is_v4() ? 0 : 1].push_back(&a);
    }
    for (const auto& p : ports_) {
        for (const auto& prefix : p.prefixes) own(prefix.address, role_node);
        for (const auto& a : p.snat) own(a, role_snat);
    }

    observed_.reserve(config_.services.size());
    for (const auto& s : config_.services) {
        const auto* rule = lb::find_destination_rule(config_, s);
        observed_.push_back(rule && rule->outlier_detection ? 1 : 0);
    }
    const bool reuse = previous && replan && previous->services_.size() == config_.services.size() &&
                       replan->size() == config_.services.size();
    services_.reserve(config_.services.size());
    vips_.reserve(vip_count);
    for (uint32_t i = 0; i < config_.services.size(); ++i) {
        const ServiceTables* before = reuse ? previous->services_[i].get() : nullptr;
        services_.push_back(reuse && !(*replan)[i] ? previous->services_[i] : plan_tables(config_, index, health_, i, before));
        const ServiceTables& tables = *services_.back();
        const auto& service = config_.services[i];
        const lb::SelectionTable* all = &tables.plan.hops.front().table;
        const lb::SelectionTable* by_family[2] = {tables.v4 ? &tables.v4->hops.front().table : all,
                                                  tables.v6 ? &tables.v6->hops.front().table : all};
        for (const auto& vip : service.vips) {
            own(vip, role_vip);
            for (const auto& port : service.ports) {
                VipKey key{};
                std::memcpy(key.address, vip.bytes().data(), 16);
                key.port = rte_cpu_to_be_16(port.port);
                key.protocol = port.protocol == Protocol::tcp ? 6 : 17;
                key.family = vip.is_v4() ? 4 : 6;
                const bool to_kernel = service.forwarding == Forwarding::hbone && config_.hbone && port.protocol == Protocol::tcp;
                vips_.push_back({i, by_family[vip.is_v4() ? 0 : 1], rte_cpu_to_be_16(port.target_port), to_kernel});
                vip_index_.insert(key, static_cast<uint32_t>(vips_.size() - 1));
            }
        }
    }

    role_hash_ = make_hash("roles", static_cast<uint32_t>(roles.size()), sizeof(AddressKey));
    role_values_.reserve(roles.size());
    for (const auto& [key, value] : roles) {
        AddressKey k{};
        k.family = key.first;
        std::memcpy(k.address, key.second.data(), 16);
        role_values_.push_back(value);
        rte_hash_add_key_data(role_hash_, &k, reinterpret_cast<void*>(uintptr_t{role_values_.size() - 1}));
    }

    // Where each endpoint is routed: copied when neither the endpoints nor the routes changed,
    // since working it out again is a prefix walk per endpoint.
    if (same_members && same_routes(previous->ports_, ports_)) {
        endpoints_ = previous->endpoints_;
        routes_serial_ = previous->routes_serial_;
    } else {
        static std::atomic<uint64_t> serials{0};
        routes_serial_ = ++serials;
        endpoints_.assign(config_.endpoints.size(), EndpointTarget{});
        for (size_t id = 0; id < config_.endpoints.size(); ++id) {
            const auto& e = config_.endpoints[id];
            auto& t = endpoints_[id];
            if (!e.address) continue;  // a remote network's gateway (HBONE only), or a removed endpoint's slot
            t.address = AddressKey::from(*e.address);
            t.port = e.port ? rte_cpu_to_be_16(*e.port) : 0;
            if (auto r = route(t.address)) {
                t.usable = true;
                t.out_port = r->port;
                t.next_hop = r->next_hop;
            }
        }
    }
    for (size_t id = 0; id < endpoints_.size(); ++id) endpoints_[id].down = id < health_.size() && health_[id].check_down;
}

EndpointDirectory::EndpointDirectory(const Config& config)
    : by_service(config), by_identity(config.endpoints.size() * 2) {
    std::unordered_map<std::string, uint32_t> service_index;
    for (uint32_t i = 0; i < config.services.size(); ++i) service_index[config.services[i].key()] = i;
    for (size_t id = 0; id < config.endpoints.size(); ++id) {
        const auto& e = config.endpoints[id];
        if (!e.address) continue;
        // Indexed under every port a flow to it can have: its own, or each target port.
        const uint32_t service = service_index.at(e.service);
        const auto address = AddressKey::from(*e.address);
        auto add = [&](uint16_t port) {
            by_identity.insert(EndpointKey{service, address, rte_cpu_to_be_16(port), {}}, static_cast<uint32_t>(id));
        };
        if (e.port) add(*e.port);
        else for (const auto& p : config.services[service].ports) add(p.target_port);
    }
}

uint32_t LbState::find_endpoint(uint32_t service, const AddressKey& address, rte_be16_t port) const {
    const uint32_t id = directory_->by_identity.find(EndpointKey{service, address, port, {}});
    return id == FlatIndex<EndpointKey>::none ? lb::SelectionTable::no_endpoint : id;
}

LbState::~LbState() {
    rte_hash_free(role_hash_);
}

std::vector<const lb::ServicePlan*> LbState::plan() const {
    std::vector<const lb::ServicePlan*> out;
    out.reserve(services_.size());
    for (const auto& s : services_) out.push_back(&s->plan);
    return out;
}

const VipEntry* LbState::find_vip(const VipKey& key) const {
    const uint32_t i = vip_index_.find(key);
    return i == FlatIndex<VipKey>::none ? nullptr : &vips_[i];
}

uint8_t LbState::roles(const AddressKey& address) const {
    void* data = nullptr;
    if (rte_hash_lookup_data(role_hash_, &address, &data) < 0) return 0;
    return role_values_[reinterpret_cast<uintptr_t>(data)];
}

std::optional<Route> LbState::route(const AddressKey& destination) const { return route_over(ports_, destination); }

std::optional<Route> route_over(const std::vector<PortInfo>& ports, const AddressKey& destination) {
    const auto address = destination.to_address();
    for (const auto& p : ports) {
        for (const auto& prefix : p.prefixes) {
            if (prefix.contains(address)) return Route{p.port_id, destination};
        }
    }
    for (const auto& p : ports) {
        if (p.gateway && p.gateway->is_v4() == (destination.family == 4)) return Route{p.port_id, AddressKey::from(*p.gateway)};
    }
    return std::nullopt;
}

const PortInfo* LbState::port(uint16_t port_id) const {
    for (const auto& p : ports_) {
        if (p.port_id == port_id) return &p;
    }
    return nullptr;
}

const IpAddress* LbState::snat_address(uint16_t port_id, uint8_t family, uint64_t hash) const {
    if (port_id >= snat_pools_.size()) return nullptr;
    const auto& pool = snat_pools_[port_id][family == 4 ? 0 : 1];
    return pool.empty() ? nullptr : pool[hash % pool.size()];
}

std::vector<const rte_ether_addr*> endpoint_macs(const LbState& lb, const std::shared_ptr<const Neighbours>& neighbours,
                                                 const Snapshot* previous) {
    if (previous && previous->neighbours == neighbours && previous->lb && lb.same_routes_as(*previous->lb)) {
        return previous->endpoint_macs;
    }
    std::vector<const rte_ether_addr*> out(lb.config().endpoints.size(), nullptr);
    for (size_t id = 0; id < out.size(); ++id) {
        const auto& target = lb.endpoint(static_cast<uint32_t>(id));
        if (target.usable) out[id] = neighbours->find(target.out_port, target.next_hop);
    }
    return out;
}

}  // namespace meshgate::dataplane
