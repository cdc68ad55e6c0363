// A zero-initialised block aligned for SIMD loads (heap, or its own anonymous mapping
// from 64 KiB on). The runtime owns its arena,
// state (KV cache) buffers and signature I/O buffers through this type; no memory is
// allocated after Interpreter::Create.
#ifndef LITEQ_RUNTIME_ALIGNED_BUFFER_H_
#define LITEQ_RUNTIME_ALIGNED_BUFFER_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

namespace liteq::runtime {

inline constexpr size_t kTensorAlignment = 64;  // one cache line, >= any SIMD width

inline size_t AlignUp(size_t n, size_t alignment = kTensorAlignment) {
  return (n + alignment - 1) / alignment * alignment;
}

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes) : size_(bytes) {
    // Never a null pointer, so zero-byte tensors still get a valid address.
    const size_t alloc = AlignUp(bytes == 0 ? 1 : bytes);
    if (alloc >= kMappedBytes) {
      // Fresh anonymous pages are zero and take no memory until written: a buffer
      // whose rows are never all written (the prefill logits when generation selects
      // one row, arena space another signature needs) costs only what is touched.
      void* p = mmap(nullptr, alloc, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      data_ = static_cast<uint8_t*>(p);
      mapped_ = alloc;
      return;
    }
    data_ = static_cast<uint8_t*>(::operator new(alloc, std::align_val_t(kTensorAlignment)));
    std::memset(data_, 0, alloc);
  }
  AlignedBuffer(AlignedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        mapped_(std::exchange(other.mapped_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
      Release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      mapped_ = std::exchange(other.mapped_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { Release(); }

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // Every byte to zero. A mapped buffer hands its pages back instead of writing them
  // (MADV_DONTNEED on private anonymous memory: the next read sees zeros, the next
  // write faults in a fresh zero page), so a cleared KV cache costs only the positions
  // written afterwards, not the whole max_seq.
  void Zero() {
    if (data_ == nullptr) return;
    if (mapped_ != 0 && madvise(data_, mapped_, MADV_DONTNEED) == 0) return;
    std::memset(data_, 0, size_);
  }

 private:
  // Buffers from this size on are their own anonymous mapping (page aligned). Low
  // enough for a KV cache layer (SmolLM2-135M: 144 KiB, 60 of them): from malloc each
  // was 37 pages instead of 36 (its chunk header and the alignment), 240 KB in all.
  static constexpr size_t kMappedBytes = size_t{64} << 10;

  void Release() {
    if (data_ != nullptr && mapped_ != 0) {
      munmap(data_, mapped_);
    } else if (data_ != nullptr) {
      ::operator delete(data_, std::align_val_t(kTensorAlignment));
    }
    data_ = nullptr;
    mapped_ = 0;
  }
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;  // bytes of the mapping, 0 when from operator new
};

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_ALIGNED_BUFFER_H_
