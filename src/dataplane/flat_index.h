#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/crc_hash.h"

namespace meshgate::dataplane {

// A read-only key → index map for the snapshot's small tables (VIPs), built once by the
// control thread: open addressing over a power-of-two array at most half full, keys compared
// bytewise. A lookup is one hash and, nearly always, one key comparison.
template <typename Key>
class FlatIndex {
public:
    static constexpr uint32_t none = UINT32_MAX;

    explicit FlatIndex(size_t expected = 0) {
        size_t size = 8;
        while (size < expected * 2) size *= 2;
        slots_.resize(size);
        mask_ = static_cast<uint32_t>(size - 1);
    }

    // A later insert of the same key replaces the value.
    void insert(const Key& key, uint32_t value) {
        for (uint32_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
            Slot& s = slots_[i];
            if (s.value == none || std::memcmp(&s.key, &key, sizeof(Key)) == 0) {
                s.key = key;
                s.value = value;
                return;
            }
        }
    }

    uint32_t find(const Key& key) const {
        for (uint32_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.value == none) return none;
            if (std::memcmp(&s.key, &key, sizeof(Key)) == 0) return s.value;
        }
    }

private:
    static_assert(sizeof(Key) % 4 == 0, "crc_hash takes keys of whole 4-byte words");
    struct Slot {
        Key key{};
        uint32_t value = none;
    };
    static uint32_t hash(const Key& key) { return crc_hash(&key, sizeof(Key), 0); }

    std::vector<Slot> slots_;
    uint32_t mask_ = 0;
};

}  // namespace meshgate::dataplane
