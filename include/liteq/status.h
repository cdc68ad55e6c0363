// Status and Result<T>: the error type of every liteq boundary (files, models, CLI).
// No exceptions cross the public API; an error carries a message that names the file,
// the tensor and what was wrong.
#ifndef LITEQ_STATUS_H_
#define LITEQ_STATUS_H_

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace liteq {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something unusable (bad flag, bad shape)
  kNotFound,         // a file, tensor or key does not exist
  kDataLoss,         // a file is truncated, corrupt or lies about its contents
  kUnimplemented,    // a valid input that liteq does not support (yet)
  kFailedPrecondition,
  kOutOfRange,
  kInternal,  // a bug in liteq
  kIo,        // the operating system refused a read or write
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "DataLoss: model.safetensors: tensor 'x': ..." style text for users.
  std::string ToString() const;

  // Prepends context ("while reading foo.tflite") to the message; keeps the code.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status DataLossError(std::string message);
Status UnimplementedError(std::string message);
Status FailedPreconditionError(std::string message);
Status OutOfRangeError(std::string message);
Status InternalError(std::string message);
Status IoError(std::string message);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = InternalError("Result constructed from OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { CheckOk(); return *value_; }
  const T& value() const& { CheckOk(); return *value_; }
  T&& value() && { CheckOk(); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void CheckOk() const {
    if (!status_.ok()) {
      std::fprintf(stderr, "liteq: value() of failed Result: %s\n",
                   status_.ToString().c_str());
      std::abort();
    }
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace liteq

#define LITEQ_CONCAT_INNER_(a, b) a##b
#define LITEQ_CONCAT_(a, b) LITEQ_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if it is not OK.
#define LITEQ_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::liteq::Status liteq_status_ = (expr);         \
    if (!liteq_status_.ok()) return liteq_status_;  \
  } while (0)

// LITEQ_ASSIGN_OR_RETURN(auto x, MakeX()); declares x or returns the error.
#define LITEQ_ASSIGN_OR_RETURN(lhs, expr) \
  LITEQ_ASSIGN_OR_RETURN_IMPL_(LITEQ_CONCAT_(liteq_result_, __LINE__), lhs, expr)
#define LITEQ_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

// Always-on invariant check (not compiled out in release builds): a failure is a
// liteq bug, never a property of user input.
#define LITEQ_CHECK(cond)                                                    \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "liteq: check failed at %s:%d: %s\n", __FILE__,   \
                   __LINE__, #cond);                                         \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

#endif  // LITEQ_STATUS_H_
