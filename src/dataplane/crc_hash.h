#pragma once

#include <cstdint>
#include <cstring>

#include <rte_hash_crc.h>

#if defined(__SSE4_2__) && defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace meshgate::dataplane {

// CRC32C of a key whose length is a multiple of 4 bytes (every key of the data plane's tables):
// 8-byte steps, then a 4-byte one. With rte_hash's hash_func signature. DPDK's x86 baseline
// has SSE4.2; rte_hash_crc would check the CPU again on every call and loop byte-wise at the end.
inline uint32_t crc_hash(const void* key, uint32_t length, uint32_t initial) {
#if defined(__SSE4_2__) && defined(__x86_64__)
    const auto* p = static_cast<const uint8_t*>(key);
    uint64_t h = initial;
    uint32_t i = 0;
#pragma GCC unroll 8
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        std::memcpy(&word, p + i, 8);
        h = _mm_crc32_u64(h, word);
    }
    if (i + 4 <= length) {
        uint32_t word;
        std::memcpy(&word, p + i, 4);
        h = _mm_crc32_u32(static_cast<uint32_t>(h), word);
    }
    return static_cast<uint32_t>(h);
#else
    return rte_hash_crc(key, length, initial);
#endif
}

}  // namespace meshgate::dataplane
