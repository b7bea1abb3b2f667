#pragma once

#include <cstdint>
#include <cstring>

#include "core/address.h"
#include "core/hash.h"

namespace meshgate::lb {

// The 5-tuple of a new flow as the selection sees it.
struct FlowKey {
    IpAddress source;
    IpAddress destination;
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    uint8_t protocol = 0;  // IPPROTO_TCP / IPPROTO_UDP
};

// The flow hash every meshgate instance computes alike: its high 32 bits choose the level,
// its low 32 bits the Maglev slot. A few multiplies; computed once per new flow.
// Over addresses as IpAddress stores them (16 bytes, an IPv4 address in the first four and
// zeros after) and ports in host order: the data plane hashes its flow tuples with this directly.
inline uint64_t hash_flow(const uint8_t source[16], const uint8_t destination[16], uint16_t source_port,
                          uint16_t destination_port, uint8_t protocol) {
    uint64_t w[4];
    std::memcpy(w, source, 16);
    std::memcpy(w + 2, destination, 16);
    uint64_t ports = (uint64_t{source_port} << 32) | (uint64_t{destination_port} << 16) | protocol;
    uint64_t h = mix64(w[0] ^ 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ w[1]);
    h = mix64(h ^ w[2]);
    h = mix64(h ^ w[3]);
    return mix64(h ^ ports);
}

inline uint64_t hash_flow(const FlowKey& k) {
    return hash_flow(k.source.bytes().data(), k.destination.bytes().data(), k.source_port, k.destination_port, k.protocol);
}

}  // namespace meshgate::lb
