// libFuzzer: the packet parser (its fast path against the full one), and the in-place rewrites the worker applies to whatever it
// accepted. Any input: no crash, no read or write outside the frame, no undefined behaviour.
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/icmp_error.h"
#include "dataplane/local_replies.h"
#include "dataplane/neighbour_discovery.h"
#include "dataplane/packet.h"
#include "dataplane/rewrite.h"

using namespace meshgate::dataplane;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 9216) return 0;  // a jumbo frame at most
    // The parser works in place: give it an exact-size copy so ASan sees any overrun.
    std::vector<uint8_t> frame(data, data + size);
    for (bool verify : {true, false}) {
        PacketView v, full;
        const Drop d = parse(frame.data(), static_cast<uint32_t>(frame.size()), verify, v);
        // The one-pass path for the usual packet and the full parser agree on every frame.
        if (d != parse_in_full(frame.data(), static_cast<uint32_t>(frame.size()), verify, full)) __builtin_trap();
        if (d == Drop::none && (v.frame != full.frame || v.length != full.length || v.ethertype != full.ethertype || v.l3 != full.l3 ||
                                v.l4 != full.l4 || v.l4_length != full.l4_length || v.family != full.family ||
                                v.protocol != full.protocol || v.vlan != full.vlan)) {
            __builtin_trap();
        }
        if (d != Drop::none) continue;
        if (v.ethertype == ethertype_arp) continue;
        if (v.has_ports()) {
            static const uint8_t a[16] = {10, 0, 0, 1}, b[16] = {10, 0, 0, 2};
            rewrite_tuple(v, a, 0x1234, b, 0x5678);
        }
        decrement_ttl(v);
        if (v.protocol == proto_icmp || v.protocol == proto_icmpv6) {
            PacketView quoted;
            (void)quoted_packet(v, quoted);
            rte_ether_addr mac{};
            if (v.protocol == proto_icmpv6 && v.l4_length >= 1) {
                const uint8_t type = v.frame[v.l4];
                if (is_neighbour_discovery(v, type)) {
                    (void)nd_target(v);
                    (void)nd_link_layer_option(v, 1, mac);
                }
            }
        }
    }
    return 0;
}
