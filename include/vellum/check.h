// Copyright (c) Vellum authors.
//
// VELLUM_CHECK: an always-on assertion for invariants of the code itself. It stays
// enabled in release builds; when it fails the process prints the location and the
// condition to stderr and aborts. Operating errors (bad input, I/O, corruption) are
// never checks: they return a vellum::Status.

#ifndef VELLUM_CHECK_H_
#define VELLUM_CHECK_H_

namespace vellum::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              const char* message);
}  // namespace vellum::internal

#define VELLUM_CHECK(condition)                                                 \
  do {                                                                          \
    if (!(condition)) [[unlikely]] {                                            \
      ::vellum::internal::CheckFailed(__FILE__, __LINE__, #condition, nullptr); \
    }                                                                           \
  } while (false)

// As VELLUM_CHECK, with a fixed explanation (a string literal: never key material).
#define VELLUM_CHECK_MSG(condition, message)                                    \
  do {                                                                          \
    if (!(condition)) [[unlikely]] {                                            \
      ::vellum::internal::CheckFailed(__FILE__, __LINE__, #condition, message); \
    }                                                                           \
  } while (false)

#define VELLUM_CHECK_EQ(a, b) VELLUM_CHECK((a) == (b))
#define VELLUM_CHECK_NE(a, b) VELLUM_CHECK((a) != (b))
#define VELLUM_CHECK_LT(a, b) VELLUM_CHECK((a) < (b))
#define VELLUM_CHECK_LE(a, b) VELLUM_CHECK((a) <= (b))
#define VELLUM_CHECK_GT(a, b) VELLUM_CHECK((a) > (b))
#define VELLUM_CHECK_GE(a, b) VELLUM_CHECK((a) >= (b))

// Marks code that cannot be reached when the invariants hold.
#define VELLUM_UNREACHABLE() \
  ::vellum::internal::CheckFailed(__FILE__, __LINE__, "unreachable", nullptr)

#endif  // VELLUM_CHECK_H_
