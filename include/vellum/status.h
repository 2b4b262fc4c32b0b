// Copyright (c) Vellum authors.
//
// Status: the outcome of an operation that can fail for operating reasons (bad
// input, I/O, corruption, conflicts). Broken invariants are not statuses; they
// abort through VELLUM_CHECK (vellum/check.h).
//
// The code says what the caller should do next:
//   kNotFound            the thing asked for does not exist; not an error for Get.
//   kInvalidArgument     the input is wrong; fix it and call again.
//   kCorruption          stored or received data failed verification; do not use it.
//   kIOError             the file system or network failed; the operation may be retried
//                        after the cause is fixed.
//   kAborted             a conflict (optimistic concurrency); retry the transaction.
//   kUnavailable         a transient condition (no leader, busy); retry the call.
//   kFailedPrecondition  the system is not in a state for this call; fix the state first.
//   kNotSupported        the operation or format is not supported by this build.
//   kPermissionDenied    the caller lacks the key or credential to do this.
//   kResourceExhausted   a size, quota or capacity limit was hit.
//   kAlreadyExists       the thing to be created exists already.
//
// Thread safety: a Status is a value; distinct objects may be used concurrently.

#ifndef VELLUM_STATUS_H_
#define VELLUM_STATUS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace vellum {

enum class StatusCode : uint8_t {
  kOk = 0,
  kNotFound = 1,
  kInvalidArgument = 2,
  kCorruption = 3,
  kIOError = 4,
  kAborted = 5,
  kUnavailable = 6,
  kFailedPrecondition = 7,
  kNotSupported = 8,
  kPermissionDenied = 9,
  kResourceExhausted = 10,
  kAlreadyExists = 11,
};

// A short, stable name for a code, e.g. "Corruption".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // The default Status is OK.
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {StatusCode::kFailedPrecondition, std::move(msg)};
  }
  static Status NotSupported(std::string msg) {
    return {StatusCode::kNotSupported, std::move(msg)};
  }
  static Status PermissionDenied(std::string msg) {
    return {StatusCode::kPermissionDenied, std::move(msg)};
  }
  static Status ResourceExhausted(std::string msg) {
    return {StatusCode::kResourceExhausted, std::move(msg)};
  }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsIOError() const { return code_ == StatusCode::kIOError; }
  bool IsAborted() const { return code_ == StatusCode::kAborted; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }
  bool IsFailedPrecondition() const { return code_ == StatusCode::kFailedPrecondition; }
  bool IsNotSupported() const { return code_ == StatusCode::kNotSupported; }
  bool IsPermissionDenied() const { return code_ == StatusCode::kPermissionDenied; }
  bool IsResourceExhausted() const { return code_ == StatusCode::kResourceExhausted; }
  bool IsAlreadyExists() const { return code_ == StatusCode::kAlreadyExists; }

  // "OK", or "<CodeName>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; OK stays OK. Use it to
  // say where a lower-level failure happened ("reading share 3: ...").
  Status WithContext(std::string_view context) const;

  // Explicitly discards a Status the caller has decided not to act on.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace vellum

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define VELLUM_RETURN_IF_ERROR(expr)                   \
  do {                                                 \
    ::vellum::Status vellum_status_internal_ = (expr); \
    if (!vellum_status_internal_.ok()) {               \
      return vellum_status_internal_;                  \
    }                                                  \
  } while (false)

#endif  // VELLUM_STATUS_H_
