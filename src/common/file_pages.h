// Handing back a process's resident pages of a read-only file mapping (the model's
// MappedFile) once their bytes have been copied or packed elsewhere. Reading such a
// page again faults the same bytes back in from the file, so releasing is always
// safe for the program's results; it only lowers RSS. Memory that is not a clean
// file copy (heap, anonymous, writable mappings) is never touched.
#ifndef LITEQ_COMMON_FILE_PAGES_H_
#define LITEQ_COMMON_FILE_PAGES_H_

#include <cstddef>
#include <cstdint>
#include <optional>

namespace liteq {

struct AddressRange {
  uintptr_t begin = 0, end = 0;
};

// The mapping (from /proc/self/maps) that contains `address` when it is file-backed
// and not writable; nullopt otherwise (or off Linux).
std::optional<AddressRange> ReadOnlyFileMappingOf(const void* address);

// Drops the resident pages lying wholly inside [begin, end) (partial pages at either
// end stay: a neighbour may still be in use). The caller has checked that the range
// lies in one ReadOnlyFileMappingOf mapping. Returns the bytes released.
size_t ReleaseWholePages(uintptr_t begin, uintptr_t end);

// Both: releases [data, data + size) when it lies in one read-only file mapping.
size_t ReleaseMappedPages(const void* data, size_t size);

}  // namespace liteq

#endif  // LITEQ_COMMON_FILE_PAGES_H_
