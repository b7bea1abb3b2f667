// libFuzzer: one frame through the real worker (parse, classify, NAT, local replies, ICMP
// error translation, exception path) over net_ring ports, with flow state carried from input
// to input. The first byte picks the layout and the port: two-arm from the client or the
// endpoint side, or one-arm. The two-arm node is one of a tier of three (10.1.0.2, .4, .5 on
// the endpoint side), so second chance's tunnel and probes arrive there too. Whatever the
// worker sends must fit in a frame buffer.
#include <cstdint>
#include <memory>

#include "dataplane_harness.h"

namespace mt = meshgate::testing;

namespace {

std::unique_ptr<mt::DataplaneBench> two_arm, one_arm;

void drain(mt::DataplaneBench& b) {
    for (const auto* port : {&b.client(), &b.backend()}) {
        for (const auto& f : b.sent(*port)) {
            if (f.size() > RTE_MBUF_DEFAULT_DATAROOM) __builtin_trap();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    static mt::EalEnvironment eal;
    eal.SetUp();
    auto tier = mt::bench_config();
    for (const char* peer : {"10.1.0.2", "10.1.0.4", "10.1.0.5"}) tier.announce.peers.push_back(*meshgate::IpAddress::parse(peer));
    two_arm = std::make_unique<mt::DataplaneBench>(tier, 2);
    one_arm = std::make_unique<mt::DataplaneBench>(mt::one_arm_config(), 1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2 || size > 1 + 1514) return 0;
    const uint8_t selector = data[0];
    const mt::Bytes frame(data + 1, data + size);
    mt::DataplaneBench& b = (selector & 3) == 2 ? *one_arm : *two_arm;
    b.inject((selector & 1) ? b.backend() : b.client(), frame);
    b.poll_all();
    drain(b);
    return 0;
}
