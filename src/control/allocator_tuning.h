#pragma once

#include <malloc.h>

namespace meshgate::control {

// The control thread makes and frees selection tables of 4·M bytes (256 KiB per level at
// M = 65537) on every update. glibc would map each from the kernel and unmap it when freed,
// so every rebuild page-faulted its tables in again; kept in the heap, they are reused.
inline void keep_table_memory_in_the_heap() {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace meshgate::control
