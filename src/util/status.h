// File: util/status.h
//
// Status: the one error vocabulary of vcsnap. Every fallible function returns
// a Status (or a Result<T>, see result.h); no exception crosses a module
// boundary. A Status is a code, a retryable bit and a one-line message that
// says what failed and where ("read vm/web1/c0001.b0000 at 4096: ...").
//
// OK statuses carry no message and cost no allocation. Statuses are values:
// copyable, movable, comparable by code.
//
// Thread safety: a Status is an immutable value once built; distinct objects
// may be used from distinct threads freely.

#ifndef VCSNAP_UTIL_STATUS_H_
#define VCSNAP_UTIL_STATUS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace vcsnap {

// DO NOT CHANGE the numeric values: they appear in logs and JSON output.
enum class StatusCode : uint8_t {
  kOk = 0,
  kNotFound = 1,         // the named object, snapshot, VM... does not exist
  kAlreadyExists = 2,    // an exclusive create found the name taken
  kCorruption = 3,       // stored bytes fail a check (magic, length, checksum)
  kInvalidArgument = 4,  // the caller (or the user) asked for something bad
  kIOError = 5,          // the storage failed; see retryable()
  kBusy = 6,             // a lease or lock is held by someone else
  kNotSupported = 7,     // a valid request this build or format cannot do
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status final {
 public:
  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status NotFound(std::string_view msg) {
    return Status(StatusCode::kNotFound, msg);
  }
  static Status AlreadyExists(std::string_view msg) {
    return Status(StatusCode::kAlreadyExists, msg);
  }
  static Status Corruption(std::string_view msg) {
    return Status(StatusCode::kCorruption, msg);
  }
  static Status InvalidArgument(std::string_view msg) {
    return Status(StatusCode::kInvalidArgument, msg);
  }
  // An I/O failure. `retryable` marks transient ones (EAGAIN, timeouts): the
  // same call may succeed later. Everything else is permanent.
  static Status IOError(std::string_view msg, bool retryable = false) {
    Status s(StatusCode::kIOError, msg);
    s.retryable_ = retryable;
    return s;
  }
  static Status Busy(std::string_view msg) {
    return Status(StatusCode::kBusy, msg);
  }
  static Status NotSupported(std::string_view msg) {
    return Status(StatusCode::kNotSupported, msg);
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  bool retryable() const { return retryable_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsAlreadyExists() const { return code_ == StatusCode::kAlreadyExists; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  // Stored bytes this build cannot use: they fail their checks, or are in a
  // format version it does not know.
  bool IsUnreadable() const {
    return code_ == StatusCode::kCorruption ||
           code_ == StatusCode::kNotSupported;
  }

  // Returns a copy whose message is "<context>: <message>". OK stays OK.
  Status WithContext(std::string_view context) const;

  // "Corruption: <message>", or "OK".
  std::string ToString() const;

  // Explicitly discards a status whose failure does not matter (best-effort
  // cleanup). Greppable, unlike a cast to void.
  void IgnoreError() const {}

 private:
  Status(StatusCode code, std::string_view msg) : code_(code), message_(msg) {}

  StatusCode code_ = StatusCode::kOk;
  bool retryable_ = false;
  std::string message_;
};

inline std::ostream& operator<<(std::ostream& os, const Status& s) {
  return os << s.ToString();
}

}  // namespace vcsnap

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define VCSNAP_RETURN_IF_ERROR(expr)              \
  do {                                            \
    ::vcsnap::Status vcsnap_status_tmp_ = (expr); \
    if (!vcsnap_status_tmp_.ok()) {               \
      return vcsnap_status_tmp_;                  \
    }                                             \
  } while (false)

#endif  // VCSNAP_UTIL_STATUS_H_
