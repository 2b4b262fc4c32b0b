// Copyright (c) Vellum authors.
//
// SecureBytes: an owned buffer for key material. It lives in guarded memory
// (libsodium's sodium_malloc: guard pages on both sides, a canary, locked against
// swapping where the OS allows) and is wiped when freed (a freed block is kept,
// zeroed, guarded and locked, for the next buffer of the same size). Move-only: copies of keys
// are made on purpose with Clone(), never by accident.
//
// Thread safety: a value type; distinct objects may be used concurrently.

#ifndef VELLUM_CRYPTO_SECURE_BYTES_H_
#define VELLUM_CRYPTO_SECURE_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/bytes.h"

namespace vellum::crypto {

class SecureBytes {
 public:
  SecureBytes() = default;
  // `size` zero bytes in guarded memory.
  explicit SecureBytes(size_t size);
  static SecureBytes CopyFrom(ByteView data);

  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;
  ~SecureBytes();

  SecureBytes Clone() const { return CopyFrom(view()); }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint8_t& operator[](size_t i) { return data_[i]; }
  uint8_t operator[](size_t i) const { return data_[i]; }

  ByteView view() const { return {data_, size_}; }
  std::span<uint8_t> span() { return {data_, size_}; }

  // Shortens the visible length to `size` (<= size()); the tail is wiped.
  void Truncate(size_t size);

  // Constant-time comparison.
  friend bool operator==(const SecureBytes& a, const SecureBytes& b) {
    return ConstantTimeEquals(a.view(), b.view());
  }

 private:
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;  // the guarded allocation's size (size_ may be truncated)
};

// Wipes ordinary memory that briefly held a secret (e.g. a stack buffer).
void SecureWipe(void* data, size_t size);

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_SECURE_BYTES_H_
