#pragma once

#include <cstdint>

#include "dataplane/packet.h"

namespace meshgate::dataplane {

// ICMP errors quote the start of the packet they are about. To deliver one across the NAT,
// both the outer header and the quoted one are rewritten.

// Destination unreachable (incl. fragmentation needed), time exceeded, parameter problem;
// for IPv6 also packet too big.
inline bool is_icmp_error(uint8_t family, uint8_t type) {
    return family == 4 ? (type == 3 || type == 11 || type == 12) : (type >= 1 && type <= 4);
}

// Destination unreachable (ICMP type 3, ICMPv6 type 1): a connect that can never succeed.
inline bool is_unreachable(uint8_t family, uint8_t type) { return type == (family == 4 ? 3 : 1); }

// The packet an ICMP error quotes, as a view into the same frame (its L4 header may be cut
// after 8 bytes). false when too little of it is quoted to find its flow.
bool quoted_packet(const PacketView& error, PacketView& quoted);

// Rewrites the quoted packet's addresses and ports (and the checksums that are present), and
// the outer addresses; then recomputes the ICMP checksum over the whole message.
void translate_icmp_error(const PacketView& error, const PacketView& quoted,
                          const uint8_t* outer_source, const uint8_t* outer_destination,
                          const uint8_t* quoted_source, rte_be16_t quoted_source_port,
                          const uint8_t* quoted_destination, rte_be16_t quoted_destination_port);

}  // namespace meshgate::dataplane
