// ztunnel ranking: reference §3.3 and test vectors TV1–TV5, TV7 at the ranking level.
#include "lb/ranking.h"

#include <gtest/gtest.h>

namespace meshgate::lb {
namespace {

const Locality wl_match{"network", "reg", "zone", "", "", ""};
const Locality wl_almost{"network", "reg", "not-zone", "", "", ""};
const Locality wl_no_locality{"network", "", "", "", "", ""};
const Locality wl_other{"other", "reg", "zone", "", "", ""};
const ScopePolicy strict_nrz{{Scope::network, Scope::region, Scope::zone}, true};
const ScopePolicy failover_nrz{{Scope::network, Scope::region, Scope::zone}, false};

TEST(ZtunnelRank, TV1StrictWithNoFullMatchDropsEverything) {
    const Locality client{"other-net", "", "", "", "", ""};
    for (const auto& e : {wl_match, wl_almost, wl_no_locality, wl_other}) {
        EXPECT_FALSE(ztunnel_rank(client, e, strict_nrz).has_value());
    }
}

TEST(ZtunnelRank, TV2StrictKeepsOnlyTheExactMatch) {
    const Locality client{"network", "reg", "zone", "", "", ""};
    EXPECT_EQ(ztunnel_rank(client, wl_match, strict_nrz), 5u);
    EXPECT_FALSE(ztunnel_rank(client, wl_almost, strict_nrz).has_value());
    EXPECT_FALSE(ztunnel_rank(client, wl_no_locality, strict_nrz).has_value());
    EXPECT_FALSE(ztunnel_rank(client, wl_other, strict_nrz).has_value());
}

TEST(ZtunnelRank, TV3NothingMatchesAllRankZero) {
    const Locality client{"no-match", "no-match", "no-match", "", "", ""};
    for (const auto& e : {wl_match, wl_almost, wl_no_locality, wl_other}) {
        EXPECT_EQ(ztunnel_rank(client, e, failover_nrz), 0u);
    }
}

TEST(ZtunnelRank, TV4EmptyClientZoneStopsThePrefixAtRegion) {
    const Locality client{"network", "reg", "", "", "", ""};
    EXPECT_EQ(ztunnel_rank(client, wl_match, failover_nrz), 4u);
    EXPECT_EQ(ztunnel_rank(client, wl_almost, failover_nrz), 4u);
    EXPECT_EQ(ztunnel_rank(client, wl_no_locality, failover_nrz), 3u);
    EXPECT_EQ(ztunnel_rank(client, wl_other, failover_nrz), 1u);
}

TEST(ZtunnelRank, TV5NetworkMismatchDoesNotEndThePrefix) {
    const Locality client{"no-match", "reg", "zone", "", "", ""};
    EXPECT_EQ(ztunnel_rank(client, wl_match, failover_nrz), 2u);
    EXPECT_EQ(ztunnel_rank(client, wl_other, failover_nrz), 2u);
    EXPECT_EQ(ztunnel_rank(client, wl_almost, failover_nrz), 1u);
    EXPECT_EQ(ztunnel_rank(client, wl_no_locality, failover_nrz), 0u);
}

// Reference §2.2: the six PreferSameZone levels in order.
TEST(ZtunnelRank, PreferSameZoneHasSixOrderedLevels) {
    const Locality c{"n1", "r1", "z1", "", "", ""};
    const auto policy = scope_policy(TrafficMode::prefer_same_zone);
    std::vector<std::optional<uint32_t>> ranks;
    for (const auto& e : {Locality{"n1", "r1", "z1", "", "", ""}, Locality{"n1", "r1", "z2", "", "", ""},
                          Locality{"n1", "r2", "z1", "", "", ""}, Locality{"n2", "r1", "z1", "", "", ""},
                          Locality{"n2", "r1", "z2", "", "", ""}, Locality{"n2", "r2", "z2", "", "", ""}}) {
        ranks.push_back(ztunnel_rank(c, e, policy));
    }
    EXPECT_EQ(ranks, (std::vector<std::optional<uint32_t>>{5u, 4u, 3u, 2u, 1u, 0u}));
    auto levels = levels_from_ranks(ranks);
    EXPECT_EQ(levels, (std::vector<std::optional<uint32_t>>{0u, 1u, 2u, 3u, 4u, 5u}));
}

TEST(ZtunnelRank, TV7PreferSameNodeRanks) {
    const Locality c{"n1", "r1", "z1", "", "k1", ""};
    const auto policy = scope_policy(TrafficMode::prefer_same_node);
    EXPECT_EQ(ztunnel_rank(c, {"n1", "r1", "z1", "", "k1", ""}, policy), 9u);
    EXPECT_EQ(ztunnel_rank(c, {"n1", "r1", "z1", "", "k2", ""}, policy), 8u);
    EXPECT_EQ(ztunnel_rank(c, {"n1", "r1", "z1", "s2", "k3", ""}, policy), 7u);
    EXPECT_EQ(ztunnel_rank(c, {"n2", "r1", "z1", "", "k1", ""}, policy), 4u);
    EXPECT_EQ(ztunnel_rank(c, {"n2", "r9", "z9", "", "k1", ""}, policy), 0u);
}

TEST(ZtunnelRank, PreferCloseIgnoresSubzone) {
    const Locality c{"n1", "r1", "z1", "s1", "", ""};
    const auto policy = scope_policy(TrafficMode::prefer_same_zone);
    EXPECT_EQ(ztunnel_rank(c, {"n1", "r1", "z1", "s1", "", ""}, policy),
              ztunnel_rank(c, {"n1", "r1", "z1", "other", "", ""}, policy));
}

TEST(ZtunnelRank, LocalIsStrictOnNode) {
    const auto policy = scope_policy(TrafficMode::local);
    EXPECT_TRUE(policy.strict);
    const Locality c{"n1", "r1", "z1", "", "k1", ""};
    EXPECT_EQ(ztunnel_rank(c, {"n9", "r9", "z9", "", "k1", ""}, policy), 1u);
    EXPECT_FALSE(ztunnel_rank(c, {"n1", "r1", "z1", "", "k2", ""}, policy).has_value());
}

TEST(Compaction, RawPrioritiesBecomeDenseInOrder) {
    std::vector<std::optional<uint32_t>> raw{5u, std::nullopt, 0u, 2u, 2u};
    EXPECT_EQ(compact_priorities(raw), (std::vector<std::optional<uint32_t>>{2u, std::nullopt, 0u, 1u, 1u}));
}

}  // namespace
}  // namespace meshgate::lb
