#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace meshgate::dataplane {

// Incremental Internet checksum update (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')), over
// 16-bit words exactly as they sit in the packet, so no byte swapping is needed.
inline uint16_t checksum_adjust(uint16_t check, const void* old_bytes, const void* new_bytes, size_t size) {
    uint32_t sum = static_cast<uint16_t>(~check);
    const auto* o = static_cast<const uint8_t*>(old_bytes);
    const auto* n = static_cast<const uint8_t*>(new_bytes);
    for (size_t i = 0; i < size; i += 2) {
        uint16_t ow, nw;
        std::memcpy(&ow, o + i, 2);
        std::memcpy(&nw, n + i, 2);
        sum += static_cast<uint16_t>(~ow);
        sum += nw;
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// Full Internet checksum of a buffer plus an initial partial sum (host-independent words).
inline uint32_t checksum_partial(const void* data, size_t size, uint32_t sum = 0) {
    const auto* p = static_cast<const uint8_t*>(data);
    size_t i = 0;
    for (; i + 1 < size; i += 2) {
        uint16_t w;
        std::memcpy(&w, p + i, 2);
        sum += w;
    }
    if (i < size) {
        uint16_t w = 0;
        std::memcpy(&w, p + i, 1);
        sum += w;
    }
    return sum;
}

inline uint16_t checksum_fold(uint32_t sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

}  // namespace meshgate::dataplane
