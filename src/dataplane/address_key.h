#pragma once

#include <cstdint>
#include <cstring>

#include <rte_byteorder.h>

#include "core/address.h"

namespace meshgate::dataplane {

// An address as rte_hash keys it: family and 16 bytes (v4 in the first four).
struct AddressKey {
    uint8_t address[16];
    uint8_t family;  // 4 or 6
    uint8_t pad[3];

    static AddressKey from(const IpAddress& a) {
        AddressKey k{};
        std::memcpy(k.address, a.bytes().data(), 16);
        k.family = a.is_v4() ? 4 : 6;
        return k;
    }
    static AddressKey from(uint8_t family, const uint8_t* bytes) {
        AddressKey k{};
        std::memcpy(k.address, bytes, family == 4 ? 4 : 16);
        k.family = family;
        return k;
    }
    bool operator==(const AddressKey& o) const { return family == o.family && std::memcmp(address, o.address, 16) == 0; }
    IpAddress to_address() const {
        if (family == 4) return IpAddress::v4(uint32_t{address[0]} << 24 | uint32_t{address[1]} << 16 | uint32_t{address[2]} << 8 | address[3]);
        std::array<uint8_t, 16> b;
        std::memcpy(b.data(), address, 16);
        return IpAddress::v6(b);
    }
};
static_assert(sizeof(AddressKey) == 20);

// A VIP, port and protocol: the key of new-flow classification.
struct VipKey {
    uint8_t address[16];
    rte_be16_t port;
    uint8_t protocol;
    uint8_t family;
};
static_assert(sizeof(VipKey) == 20);

}  // namespace meshgate::dataplane
