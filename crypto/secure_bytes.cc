// Copyright (c) Vellum authors.

#include "crypto/secure_bytes.h"

#include <sodium.h>

#include <cstring>
#include <utility>

#include "crypto/sodium_init.h"
#include "vellum/check.h"

namespace vellum::crypto {

void EnsureSodium() {
  // sodium_init is thread-safe and idempotent; the static makes later calls free.
  static const int init_result = sodium_init();
  VELLUM_CHECK_MSG(init_result >= 0, "libsodium failed to initialise");
}

SecureBytes::SecureBytes(size_t size) : size_(size) {
  if (size == 0) return;
  EnsureSodium();
  data_ = static_cast<uint8_t*>(sodium_malloc(size));
  VELLUM_CHECK_MSG(data_ != nullptr, "out of guarded memory for key material");
  std::memset(data_, 0, size);
}

SecureBytes SecureBytes::CopyFrom(ByteView data) {
  SecureBytes out(data.size());
  if (!data.empty()) std::memcpy(out.data_, data.data(), data.size());
  return out;
}

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecureBytes::~SecureBytes() { Release(); }

void SecureBytes::Truncate(size_t size) {
  VELLUM_CHECK_LE(size, size_);
  if (data_ != nullptr) sodium_memzero(data_ + size, size_ - size);
  size_ = size;
}

void SecureBytes::Release() {
  // sodium_free wipes the whole allocation before unmapping it.
  if (data_ != nullptr) sodium_free(data_);
  data_ = nullptr;
  size_ = 0;
}

void SecureWipe(void* data, size_t size) {
  if (size != 0) sodium_memzero(data, size);
}

}  // namespace vellum::crypto
