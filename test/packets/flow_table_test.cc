// The flow table's own index (flow_table.cc) against a std::map, over many random inserts,
// lookups and removals in a small table, where full buckets pass entries on.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "dataplane/flow_table.h"
#include "dataplane_harness.h"

namespace meshgate::testing {
namespace {

using dataplane::FlowTable;
using dataplane::FlowTuple;

FlowTuple tuple(uint32_t client, uint16_t port, bool reverse) {
    FlowTuple t{};
    t.source[0] = 10;
    std::memcpy(t.source + 1, &client, 3);
    t.destination[0] = reverse ? 172 : 192;
    t.source_port = port;
    t.destination_port = 80;
    t.protocol = 6;
    t.family = 4;
    return t;
}

// Random lookups, inserts and removals of up to `capacity` flows among `clients` × 8, each
// checked against a std::map.
void churn_against_a_map(uint32_t capacity, uint32_t clients) {
    FlowTable table(capacity, SOCKET_ID_ANY);
    std::map<std::pair<uint32_t, uint16_t>, dataplane::Flow*> live;
    std::mt19937 random(7);
    for (int step = 0; step < 200000; ++step) {
        const auto client = static_cast<uint32_t>(random() % clients);
        const uint16_t port = static_cast<uint16_t>(random() % 8);
        const auto key = std::make_pair(client, port);
        FlowTable::Direction d;
        dataplane::Flow* found = table.lookup(tuple(client, port, false), d);
        auto it = live.find(key);
        ASSERT_EQ(found != nullptr, it != live.end()) << "step " << step;
        if (found) {
            ASSERT_EQ(found, it->second);
            ASSERT_EQ(d, FlowTable::Direction::forward);
            ASSERT_EQ(table.lookup(tuple(client, port, true), d), found);
            ASSERT_EQ(d, FlowTable::Direction::reverse);
            if (random() % 2) {
                table.remove(found);
                live.erase(it);
            }
        } else if (live.size() < capacity) {
            dataplane::Flow* made = table.insert(tuple(client, port, false), tuple(client, port, true));
            ASSERT_NE(made, nullptr);
            live[key] = made;
        } else {
            ASSERT_EQ(table.insert(tuple(client, port, false), tuple(client, port, true)), nullptr) << "full";
        }
        ASSERT_EQ(table.size(), live.size());
    }
    // Bulk lookups agree with single ones, hits and misses alike.
    FlowTuple tuples[32];
    uint32_t hashes[32];
    dataplane::Flow* flows[32];
    FlowTable::Direction directions[32];
    for (uint32_t i = 0; i < 32; ++i) {
        tuples[i] = tuple(i * 7 % 200, static_cast<uint16_t>(i % 8), i % 3 == 0);
        hashes[i] = FlowTable::hash(tuples[i]);
    }
    table.lookup_bulk(tuples, hashes, 32, flows, directions);
    for (uint32_t i = 0; i < 32; ++i) {
        FlowTable::Direction d;
        EXPECT_EQ(flows[i], table.lookup(tuples[i], d)) << i;
    }
    for (auto& [key, flow] : live) table.remove(flow);
    EXPECT_EQ(table.size(), 0u);
    FlowTable::Direction d;
    EXPECT_EQ(table.lookup(tuple(1, 1, false), d), nullptr);
}

TEST(FlowTable, MatchesAReferenceMapThroughRandomChurn) { churn_against_a_map(96, 200); }

// Two buckets, churned: sooner or later each has passed an entry on to the other, and a miss
// must still end (once round), not walk the ring for ever.
TEST(FlowTable, AMissEndsWhenEveryBucketHasPassedEntriesOn) { churn_against_a_map(8, 40); }

// The burst's tuple and hash of a parsed packet are fill_flow_tuple()'s and hash()'s.
TEST(FlowTable, APacketsHashIsItsTuples) {
    std::mt19937 random(11);
    for (int i = 0; i < 2000; ++i) {
        Frame f;
        f.src = "10." + std::to_string(random() % 256) + "." + std::to_string(random() % 256) + ".7";
        f.dst = i % 2 ? "10.96.0.1" : "10.96.0." + std::to_string(random() % 256);
        if (i % 5 == 0) {  // and IPv6, which takes the tuple's own hash
            f.src = "fd00::" + std::to_string(random() % 9000 + 1);
            f.dst = "fd00::a";
        }
        f.sport = static_cast<uint16_t>(random());
        f.dport = static_cast<uint16_t>(random());
        f.protocol = i % 3 ? 6 : 17;
        auto bytes = f.build();
        dataplane::PacketView v;
        ASSERT_EQ(dataplane::parse(bytes.data(), static_cast<uint32_t>(bytes.size()), true, v), dataplane::Drop::none);
        FlowTuple t, filled;
        dataplane::fill_flow_tuple(v, t);
        EXPECT_EQ(FlowTable::fill_and_hash(v, filled), FlowTable::hash(t)) << i;
        EXPECT_EQ(std::memcmp(&filled, &t, sizeof t), 0) << i;
    }
}

}  // namespace
}  // namespace meshgate::testing
