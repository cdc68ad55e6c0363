// A read-mostly vector whose copies share one storage until one of them is modified
// (copy on write). graph::QuantParams keeps its scales and zero points in it: a .tflite
// stores each distinct parameter vector once and the prefill and decode subgraphs refer
// to the same ones, so the reader hands out shared copies instead of one allocation per
// tensor per subgraph (on SmolLM2-135M the per-tensor copies were 4.9 MB of the
// runtime's peak RSS, issue #6). Reads look like a const std::vector; the vector itself
// is available through vector() or the implicit conversion.
#ifndef LITEQ_GRAPH_SHARED_VECTOR_H_
#define LITEQ_GRAPH_SHARED_VECTOR_H_

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace liteq::graph {

template <typename T>
class SharedVector {
 public:
  using value_type = T;
  using size_type = size_t;
  using const_iterator = const T*;
  using iterator = const T*;  // elements change only through the mutators below

  SharedVector() = default;
  SharedVector(std::vector<T> v)  // NOLINT(google-explicit-constructor): drop-in for vector
      : data_(v.empty() ? nullptr : std::make_shared<std::vector<T>>(std::move(v))) {}
  SharedVector(std::initializer_list<T> v) : SharedVector(std::vector<T>(v)) {}
  SharedVector& operator=(std::vector<T> v) { return *this = SharedVector(std::move(v)); }
  SharedVector& operator=(std::initializer_list<T> v) { return *this = SharedVector(v); }

  const std::vector<T>& vector() const { return data_ ? *data_ : Empty(); }
  operator const std::vector<T>&() const { return vector(); }  // NOLINT
  std::span<const T> span() const { return vector(); }

  size_t size() const { return data_ ? data_->size() : 0; }
  bool empty() const { return size() == 0; }
  const T* data() const { return vector().data(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size(); }
  const T& operator[](size_t i) const { return (*data_)[i]; }
  const T& front() const { return data_->front(); }
  const T& back() const { return data_->back(); }

  // Mutators: this copy gets its own storage first if it shares one.
  T& operator[](size_t i) { return Mutable()[i]; }
  void push_back(T v) { Mutable().push_back(std::move(v)); }
  void resize(size_t n, const T& v = T()) { Mutable().resize(n, v); }
  void reserve(size_t n) { Mutable().reserve(n); }
  void assign(size_t n, const T& v) { Mutable().assign(n, v); }
  template <typename It>
  void assign(It first, It last) {
    Mutable().assign(first, last);
  }
  void clear() { data_.reset(); }

  // Whether two copies share storage (tests, memory accounting).
  bool SharesStorageWith(const SharedVector& o) const { return data_ && data_ == o.data_; }

  friend bool operator==(const SharedVector& a, const SharedVector& b) {
    return a.data_ == b.data_ || a.vector() == b.vector();
  }
  friend bool operator==(const SharedVector& a, const std::vector<T>& b) { return a.vector() == b; }

 private:
  static const std::vector<T>& Empty() {
    static const std::vector<T> empty;
    return empty;
  }
  std::vector<T>& Mutable() {
    if (!data_) {
      data_ = std::make_shared<std::vector<T>>();
    } else if (data_.use_count() > 1) {
      data_ = std::make_shared<std::vector<T>>(*data_);
    }
    return *data_;
  }

  std::shared_ptr<std::vector<T>> data_;  // null when empty
};

}  // namespace liteq::graph

#endif  // LITEQ_GRAPH_SHARED_VECTOR_H_
