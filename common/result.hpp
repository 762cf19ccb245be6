// Result<T>: the value-or-error type for expected failures (GCC 12 has no std::expected).
//
// Expected failures (bad input, network, disk full, SQLite busy, upstream HTTP) travel as values;
// exceptions are reserved for startup configuration errors and broken invariants.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace aisle {

// Broad classes of failure; callers branch on these (retry? answer 4xx or 5xx?), humans read the
// message.
enum class ErrorCode {
  kInvalidArgument,     // the input is wrong; retrying the same input will fail again
  kNotFound,            // the thing asked for does not exist
  kAlreadyExists,       // a create collided with an existing thing
  kResourceExhausted,   // a quota, queue or disk limit is reached; retry later may work
  kUnavailable,         // a peer or resource is temporarily unreachable; retry with backoff
  kDeadlineExceeded,    // a timeout elapsed
  kFailedPrecondition,  // the system is not in a state where this can run (e.g. newer DB schema)
  kDataLoss,            // stored data is corrupt or truncated
  kIo,                  // an operating-system I/O call failed
  kInternal,            // a bug or an unexpected library failure
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }
  T value_or(T fallback) const { return ok() ? std::get<0>(state_) : std::move(fallback); }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace aisle
