// Copyright (c) Vellum authors.
//
// Result<T>: either a value of type T or a non-OK Status (a StatusOr). Accessing the
// value of a failed Result is a broken invariant and aborts.
//
// Thread safety: a Result is a value; distinct objects may be used concurrently.

#ifndef VELLUM_RESULT_H_
#define VELLUM_RESULT_H_

#include <optional>
#include <type_traits>
#include <utility>

#include "vellum/check.h"
#include "vellum/status.h"

namespace vellum {

template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Status>, "Result<Status> makes no sense");

 public:
  // A failed result. `status` must not be OK.
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    VELLUM_CHECK_MSG(!status_.ok(), "a Result built from a Status needs a non-OK Status");
  }
  // A successful result.
  Result(const T& value) : value_(value) {}        // NOLINT: implicit by design
  Result(T&& value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, Status> && !std::is_same_v<std::decay_t<U>, Result<T>>)
      Result(U&& value)
      : value_(std::in_place, std::forward<U>(value)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  const T& value() const& {
    VELLUM_CHECK_MSG(ok(), "value() of a failed Result");
    return *value_;
  }
  T& value() & {
    VELLUM_CHECK_MSG(ok(), "value() of a failed Result");
    return *value_;
  }
  T&& value() && {
    VELLUM_CHECK_MSG(ok(), "value() of a failed Result");
    return std::move(*value_);
  }

  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // Explicitly discards a result the caller has decided not to act on.
  void IgnoreError() const {}

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace vellum

#define VELLUM_INTERNAL_CONCAT_(a, b) a##b
#define VELLUM_INTERNAL_CONCAT(a, b) VELLUM_INTERNAL_CONCAT_(a, b)

// VELLUM_ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (a Result<T>); on failure
// returns its Status from the enclosing function, otherwise moves the value into
// `lhs` (which may be a declaration: `auto x`, `Bytes y`).
#define VELLUM_ASSIGN_OR_RETURN(lhs, expr) \
  VELLUM_INTERNAL_ASSIGN_OR_RETURN(VELLUM_INTERNAL_CONCAT(vellum_result_, __LINE__), lhs, expr)

#define VELLUM_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                     \
  if (!tmp.ok()) {                                       \
    return std::move(tmp).status();                      \
  }                                                      \
  lhs = std::move(tmp).value()

#endif  // VELLUM_RESULT_H_
