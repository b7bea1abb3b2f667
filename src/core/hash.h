#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace meshgate {

// Stable, platform-independent 64-bit hashing. Every meshgate instance must compute the
// same values from the same inputs (Maglev offsets, endpoint order, flow → endpoint), so
// nothing here may depend on std::hash or on the process.

constexpr uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

inline uint64_t hash_bytes(const void* data, size_t size, uint64_t seed) {
    const auto* p = static_cast<const unsigned char*>(data);
    uint64_t h = mix64(seed ^ (size * 0x9e3779b97f4a7c15ULL));
    while (size >= 8) {
        uint64_t word;
        std::memcpy(&word, p, 8);
        h = mix64(h ^ word) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        size -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < size; ++i) tail |= uint64_t{p[i]} << (8 * i);
    return mix64(h ^ tail ^ (uint64_t{size} << 59));
}

inline uint64_t hash_string(std::string_view s, uint64_t seed) {
    return hash_bytes(s.data(), s.size(), seed);
}

}  // namespace meshgate
