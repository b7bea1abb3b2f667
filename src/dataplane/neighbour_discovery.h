#pragma once

#include <cstdint>

#include <rte_ether.h>

#include "dataplane/packet.h"

namespace meshgate::dataplane {

// IPv6 neighbour discovery (RFC 4861), the part an appliance needs: answer solicitations for
// its own addresses, learn link-layer addresses from solicitations and advertisements.

inline constexpr uint8_t nd_solicitation = 135;
inline constexpr uint8_t nd_advertisement = 136;

inline bool is_neighbour_discovery(const PacketView& v, uint8_t icmp_type) {
    return v.family == 6 && (icmp_type == nd_solicitation || icmp_type == nd_advertisement);
}

// The target address of an NS or NA (16 bytes), or nullptr when the message is too short.
const uint8_t* nd_target(const PacketView& v);
// The source (type 1) or target (type 2) link-layer address option, if present.
bool nd_link_layer_option(const PacketView& v, uint8_t option_type, rte_ether_addr& mac);

// Turns a neighbour solicitation for one of our addresses into the solicited advertisement
// (from the target address, with our MAC as target link-layer address). Returns the length.
uint32_t make_neighbour_advertisement(const PacketView& v, const rte_ether_addr& our_mac);

// Writes a neighbour solicitation for `target` from `source` into `frame` (≥ 86 bytes).
uint32_t write_neighbour_solicitation(uint8_t* frame, const rte_ether_addr& our_mac, const uint8_t source[16],
                                      const uint8_t target[16]);

}  // namespace meshgate::dataplane
