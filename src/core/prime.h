#pragma once

#include <cstdint>

namespace meshgate {

// Trial division; used on table sizes (≤ 2^24), never per packet.
constexpr bool is_prime(uint64_t n) {
    if (n < 2) return false;
    if (n % 2 == 0) return n == 2;
    for (uint64_t d = 3; d * d <= n; d += 2) {
        if (n % d == 0) return false;
    }
    return true;
}

}  // namespace meshgate
