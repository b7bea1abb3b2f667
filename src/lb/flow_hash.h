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
inline uint64_t hash_flow(const FlowKey& k) {
    uint64_t w[4];
    std::memcpy(w, k.source.bytes().data(), 16);
    std::memcpy(w + 2, k.destination.bytes().data(), 16);
    uint64_t ports = (uint64_t{k.source_port} << 32) | (uint64_t{k.destination_port} << 16) | k.protocol;
    uint64_t h = mix64(w[0] ^ 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ w[1]);
    h = mix64(h ^ w[2]);
    h = mix64(h ^ w[3]);
    return mix64(h ^ ports);
}

}  // namespace meshgate::lb
