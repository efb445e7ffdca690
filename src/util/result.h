// File: util/result.h
//
// Result<T>: a T or a non-OK Status. The return type of every fallible
// function that produces a value. Shaped like std::expected<T, Status> (not
// available to g++ 12 in C++20 mode) so it can become an alias later.
//
//   Result<Bytes> r = backend.Get("config");
//   if (!r.ok()) return r.status();
//   Use(*r);
//
// Or, inside a function returning Status or Result<U>:
//   VCSNAP_ASSIGN_OR_RETURN(Bytes data, backend.Get("config"));
//
// REQUIRES: value(), operator* and operator-> only when ok() (checked with an
// assertion-like abort: reading the value of an error is a programming bug).
// Constructing a Result from an OK Status is a bug too and aborts.
//
// Thread safety: as for any value type.

#ifndef VCSNAP_UTIL_RESULT_H_
#define VCSNAP_UTIL_RESULT_H_

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>

#include "util/status.h"

namespace vcsnap {

template <typename T>
class [[nodiscard]] Result final {
  static_assert(!std::is_same_v<std::decay_t<T>, Status>,
                "Result<Status> makes no sense; return Status");

 public:
  // NOLINTNEXTLINE(google-explicit-constructor): implicit by design.
  Result(Status status) : status_(std::move(status)) {
    if (status_.ok()) Die("Result constructed from an OK Status");
  }
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(T value) : value_(std::move(value)) {}
  template <typename U, typename = std::enable_if_t<
                            std::is_constructible_v<T, U&&> &&
                            !std::is_same_v<std::decay_t<U>, T> &&
                            !std::is_same_v<std::decay_t<U>, Status>>>
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(U&& value) : value_(T(std::forward<U>(value))) {}

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    Check();
    return *value_;
  }
  const T& value() const& {
    Check();
    return *value_;
  }
  // On an rvalue the value is moved out and returned by value, so that
  // `for (auto& x : *Fetch())` does not dangle.
  T value() && {
    Check();
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  [[noreturn]] static void Die(const char* what) {
    std::fprintf(stderr, "vcsnap: fatal: %s\n", what);
    std::abort();
  }
  void Check() const {
    if (!value_.has_value()) {
      std::fprintf(stderr, "vcsnap: fatal: value() of failed Result: %s\n",
                   status_.ToString().c_str());
      std::abort();
    }
  }

  std::optional<T> value_;
  Status status_;  // OK iff value_ holds a value
};

}  // namespace vcsnap

#define VCSNAP_CONCAT_INNER_(a, b) a##b
#define VCSNAP_CONCAT_(a, b) VCSNAP_CONCAT_INNER_(a, b)

// Evaluates `expr` (a Result<T>); on error returns its Status from the
// enclosing function, else move-assigns the value to `lhs`, which may be a
// declaration ("Bytes data") or an existing variable.
#define VCSNAP_ASSIGN_OR_RETURN(lhs, expr)                                     \
  VCSNAP_ASSIGN_OR_RETURN_IMPL_(VCSNAP_CONCAT_(vcsnap_result_, __LINE__), lhs, \
                                expr)
#define VCSNAP_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(*tmp)

#endif  // VCSNAP_UTIL_RESULT_H_
