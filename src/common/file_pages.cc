#include "common/file_pages.h"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include <fstream>
#include <sstream>
#include <string>

namespace liteq {

std::optional<AddressRange> ReadOnlyFileMappingOf(const void* address) {
#if defined(__linux__)
  const auto a = reinterpret_cast<uintptr_t>(address);
  // /proc/self/maps: "start-end perms offset dev inode path" (proc(5)).
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::string perms, offset, device;
    unsigned long long inode = 0;
    if (!(fields >> std::hex >> lo >> dash >> hi >> perms >> offset >> device >> std::dec >>
          inode)) {
      continue;
    }
    if (a < lo || a >= hi) continue;
    // File-backed (inode != 0) and not writable: every page is a clean copy of the file.
    if (inode != 0 && perms.size() >= 4 && perms[0] == 'r' && perms[1] == '-') {
      return AddressRange{lo, hi};
    }
    return std::nullopt;
  }
#else
  (void)address;
#endif
  return std::nullopt;
}

size_t ReleaseWholePages(uintptr_t begin, uintptr_t end) {
#if defined(__linux__)
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = end / page * page;
  if (first >= last) return 0;
  if (::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) != 0) return 0;
  return last - first;
#else
  (void)begin;
  (void)end;
  return 0;
#endif
}

size_t ReleaseMappedPages(const void* data, size_t size) {
  if (size == 0) return 0;
  const std::optional<AddressRange> mapping = ReadOnlyFileMappingOf(data);
  const auto begin = reinterpret_cast<uintptr_t>(data);
  if (!mapping.has_value() || begin + size > mapping->end) return 0;
  return ReleaseWholePages(begin, begin + size);
}

}  // namespace liteq
