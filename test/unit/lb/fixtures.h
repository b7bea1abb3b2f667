#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/config.h"
#include "lb/flow_hash.h"
#include "lb/planner.h"

namespace meshgate::testing {

// A Config made in code: one service "ns/svc" and endpoints named by address.
struct MeshBuilder {
    Config config;

    MeshBuilder(Locality node) {
        config.node.name = node.node;
        config.node.network = node.network;
        config.node.region = node.region;
        config.node.zone = node.zone;
        config.node.subzone = node.subzone;
        config.node.cluster = node.cluster;
        Service s;
        s.name = "svc";
        s.ns = "ns";
        s.vips.push_back(*IpAddress::parse("10.96.0.1"));
        s.ports.push_back({80, 8080, Protocol::tcp});
        config.services.push_back(s);
    }

    Service& service() { return config.services.front(); }

    MeshBuilder& endpoint(const std::string& address, Locality locality, bool healthy = true, uint32_t weight = 1) {
        Endpoint e;
        e.service = "ns/svc";
        if (!address.empty()) e.address = *IpAddress::parse(address);
        e.locality = locality;
        e.healthy = healthy;
        e.weight = weight;
        config.endpoints.push_back(e);
        return *this;
    }

    MeshBuilder& gateway(const std::string& network, const std::string& address = "192.0.2.100") {
        config.network_gateways.push_back({network, *IpAddress::parse(address), 15008, ""});
        return *this;
    }
};

// Pushes `flows` synthetic flows through the hop's SelectionTable; counts per endpoint address.
inline std::map<std::string, uint64_t> run_flows(const Config& config, const lb::HopPlan& hop, uint64_t flows,
                                                 uint64_t* refused = nullptr) {
    std::map<std::string, uint64_t> counts;
    uint64_t none = 0;
    for (uint64_t i = 0; i < flows; ++i) {
        lb::FlowKey key{IpAddress::v4(0xc6120000u + static_cast<uint32_t>(i)), *IpAddress::parse("10.96.0.1"),
                        static_cast<uint16_t>(1024 + i % 50000), 80, 6};
        uint32_t id = hop.table.pick(lb::hash_flow(key));
        if (id == lb::SelectionTable::no_endpoint) {
            ++none;
            continue;
        }
        const auto& e = config.endpoints[id];
        ++counts[e.address ? e.address->to_string() : "@" + e.locality.network];
    }
    if (refused) *refused = none;
    return counts;
}

// The ZT acceptance rule of reference §10: every member of `expected` is chosen, nothing
// else is, and (equal weights) each share is within ±5 % absolute of 1/|S|.
inline void expect_chosen_set(const std::map<std::string, uint64_t>& counts, const std::set<std::string>& expected,
                              uint64_t flows) {
    for (const auto& [address, n] : counts) {
        EXPECT_TRUE(expected.count(address)) << address << " was chosen " << n << " times but is not in the expected set";
    }
    for (const auto& address : expected) {
        auto it = counts.find(address);
        ASSERT_TRUE(it != counts.end()) << address << " was never chosen";
        double share = static_cast<double>(it->second) / static_cast<double>(flows);
        EXPECT_NEAR(share, 1.0 / static_cast<double>(expected.size()), 0.05) << address;
    }
}

inline double fraction(const std::map<std::string, uint64_t>& counts, const std::string& key, uint64_t total) {
    auto it = counts.find(key);
    return it == counts.end() ? 0.0 : static_cast<double>(it->second) / static_cast<double>(total);
}

inline const lb::HopPlan& backend_hop(const lb::ServicePlan& plan) { return plan.hops.back(); }

}  // namespace meshgate::testing
