// Worker cost per packet over in-process net_ring ports, 64-byte TCP frames from many flows:
//   floor        a bare rx burst → tx burst loop on the same ports (the io-forwarding floor)
//   established  ACKs of 4,096 open flows: flow-table hit → rewrite → tx
//   syn          a SYN with a new 5-tuple each: Maglev pick, SNAT port, flow insert → tx
//   bytes        memory per tracked flow, all in: records, free list and the rte_hash of both
//                tuples (its heap use, from rte_malloc's statistics), over the table's capacity
// Each loop also makes its input (mbuf alloc + 64-byte copy) and frees its output, the same
// for every mode, so the modes compare. Prints one JSON line per mode.
//   worker_bench [--packets N] [--mode floor|established|syn|bytes|all]
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "dataplane_harness.h"

namespace mt = meshgate::testing;

namespace {

constexpr unsigned burst = 32;

struct Result {
    uint64_t packets = 0;
    uint64_t cycles = 0;
    uint64_t forwarded = 0;
};

// Feeds `frames` (cycling) through `step` in bursts; `step` moves packets from rx to tx.
template <typename Step>
Result run(mt::DataplaneBench& b, const std::vector<mt::Bytes>& frames, uint64_t packets, Step&& step) {
    rte_mempool* pool = mt::EalEnvironment::pool();
    Result r;
    rte_mbuf* in[burst];
    void* out[burst];
    size_t next = 0;
    const uint64_t start = rte_rdtsc();
    while (r.packets < packets) {
        if (rte_pktmbuf_alloc_bulk(pool, in, burst) != 0) break;
        for (unsigned i = 0; i < burst; ++i) {
            const auto& f = frames[next++ % frames.size()];
            std::memcpy(rte_pktmbuf_append(in[i], static_cast<uint16_t>(f.size())), f.data(), f.size());
        }
        rte_ring_enqueue_bulk(b.client().rx_ring(), reinterpret_cast<void**>(in), burst, nullptr);
        step();
        for (auto* ring : b.backend().tx) {
            unsigned n;
            while ((n = rte_ring_dequeue_burst(ring, out, burst, nullptr)) > 0) {
                r.forwarded += n;
                rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(out), n);
            }
        }
        r.packets += burst;
    }
    r.cycles = rte_rdtsc() - start;
    return r;
}

mt::Bytes tcp_frame(const mt::DataplaneBench& b, uint32_t flow, uint8_t flags) {
    mt::Frame f;
    f.src_mac = {0x02, 0, 0, 0, 0, 0xc1};
    f.dst_mac = b.client().mac;
    f.src = "10.0." + std::to_string((flow >> 8) & 0xff) + "." + std::to_string(flow & 0xff);
    f.sport = static_cast<uint16_t>(10000 + (flow >> 16));
    f.tcp_flags = flags;
    auto bytes = f.build();
    bytes.resize(60);  // minimum frame: 64 bytes on the wire with the FCS
    return bytes;
}

void report(const char* mode, const Result& r, double floor_cycles) {
    const double cycles = static_cast<double>(r.cycles) / static_cast<double>(r.packets);
    const double mpps = static_cast<double>(rte_get_tsc_hz()) / cycles / 1e6;
    std::printf("{\"benchmark\": \"worker_%s\", \"packets\": %llu, \"forwarded\": %llu, \"tsc_cycles_per_packet\": %.1f, "
                "\"mpps_per_worker\": %.2f, \"ratio_to_floor\": %.2f, \"tsc_hz\": %llu}\n",
                mode, static_cast<unsigned long long>(r.packets), static_cast<unsigned long long>(r.forwarded), cycles, mpps,
                floor_cycles > 0 ? cycles / floor_cycles : 1.0, static_cast<unsigned long long>(rte_get_tsc_hz()));
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t packets = 2'000'000;
    std::string mode = "all";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::string(argv[i]) == "--packets") packets = std::stoull(argv[i + 1]);
        else if (std::string(argv[i]) == "--mode") mode = argv[i + 1];
    }
    mt::EalEnvironment eal;
    eal.SetUp();
    double floor_cycles = 0;

    if (mode == "all" || mode == "floor") {
        mt::DataplaneBench b(mt::bench_config());
        std::vector<mt::Bytes> frames;
        for (uint32_t f = 0; f < 4096; ++f) frames.push_back(tcp_frame(b, f, mt::ACK));
        rte_mbuf* pkts[burst];
        auto r = run(b, frames, packets, [&] {
            const uint16_t n = rte_eth_rx_burst(b.client().id, 0, pkts, burst);
            const uint16_t sent = rte_eth_tx_burst(b.backend().id, 0, pkts, n);
            for (uint16_t i = sent; i < n; ++i) rte_pktmbuf_free(pkts[i]);
        });
        floor_cycles = static_cast<double>(r.cycles) / static_cast<double>(r.packets);
        report("io_floor", r, floor_cycles);
    }
    if (mode == "all" || mode == "established") {
        mt::DataplaneBench b(mt::bench_config(), 1, {}, 8192);
        std::vector<mt::Bytes> syns, acks;
        for (uint32_t f = 0; f < 4096; ++f) {
            syns.push_back(tcp_frame(b, f, mt::SYN));
            acks.push_back(tcp_frame(b, f, mt::ACK));
        }
        run(b, syns, syns.size(), [&] { b.poll(); });  // open the flows
        auto r = run(b, acks, packets, [&] { b.poll(); });
        report("established", r, floor_cycles);
    }
    if (mode == "all" || mode == "syn") {
        // One SNAT address and two endpoints give 2 × 64,512 reverse tuples: stay below that.
        const uint32_t flows = static_cast<uint32_t>(std::min<uint64_t>(packets, 100'000));
        mt::DataplaneBench b(mt::bench_config(), 1, {}, flows + 1024);
        std::vector<mt::Bytes> syns;
        for (uint32_t f = 0; f < flows; ++f) syns.push_back(tcp_frame(b, f, mt::SYN));
        auto r = run(b, syns, flows, [&] { b.poll(); });
        report("syn", r, floor_cycles);
    }
    if (mode == "all" || mode == "bytes") {
        constexpr uint32_t capacity = 1 << 20;  // the default [dataplane] flow_table_size
        rte_malloc_socket_stats before{}, after{};
        rte_malloc_get_socket_stats(0, &before);
        meshgate::dataplane::FlowTable table(capacity, 0);
        rte_malloc_get_socket_stats(0, &after);
        const double hash = static_cast<double>(after.heap_allocsz_bytes - before.heap_allocsz_bytes) / capacity;
        const double records = sizeof(meshgate::dataplane::Flow);  // free records chain through themselves
        std::printf("{\"benchmark\": \"flow_state_bytes\", \"capacity\": %u, \"flow_record_bytes\": %zu, "
                    "\"hash_bytes_per_flow\": %.1f, \"bytes_per_flow\": %.1f}\n",
                    capacity, sizeof(meshgate::dataplane::Flow), hash, hash + records);
    }
    eal.TearDown();
    return 0;
}
