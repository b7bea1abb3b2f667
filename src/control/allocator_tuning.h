#pragma once

#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace meshgate::control {

// The control thread makes and frees selection tables of 4·M bytes (256 KiB per level at
// M = 65537) on every update. glibc would map each from the kernel and unmap it when freed,
// so every rebuild page-faulted its tables in again; kept in the heap, they are reused.
inline void keep_table_memory_in_the_heap() {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

// Faults in room for `tables` more selection tables of `maglev_size` slots and leaves it in the
// heap: call it once the first snapshot is live, from the thread that makes the next ones.
// Without it the first updates after start page-faulted their tables in: on this VM, where a
// fault costs about 15 µs, those took 2 ms instead of 1.
inline void warm_table_heap(uint32_t maglev_size, size_t tables = 8) {
    const size_t bytes = size_t{maglev_size} * sizeof(uint32_t) * tables;
    auto* room = static_cast<volatile unsigned char*>(std::malloc(bytes));
    if (!room) return;
    for (size_t i = 0; i < bytes; i += 4096) room[i] = 0;
    std::free(const_cast<unsigned char*>(room));
}

}  // namespace meshgate::control
