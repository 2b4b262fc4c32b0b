// Copyright (c) Vellum authors.

#include "crypto/secure_bytes.h"

#include <sodium.h>

#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "crypto/sodium_init.h"
#include "vellum/check.h"

namespace vellum::crypto {

void EnsureSodium() {
  // sodium_init is thread-safe and idempotent; the static makes later calls free.
  static const int init_result = sodium_init();
  VELLUM_CHECK_MSG(init_result >= 0, "libsodium failed to initialise");
}

namespace {

// Guarded allocations are kept for reuse once released, wiped. sodium_malloc maps
// pages, fences them with guard pages and locks them (several system calls, and
// unmapping makes the kernel flush every core's TLB), which made each commit pay
// for its few short-lived keys. A released block keeps its guard pages and stays
// locked; it holds only zeros until it is handed out again for the same size.
class GuardedBlockCache {
 public:
  uint8_t* Take(size_t size) {
    {
      std::lock_guard lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        uint8_t* block = it->second.back();
        it->second.pop_back();
        --cached_;
        return block;
      }
    }
    auto* block = static_cast<uint8_t*>(sodium_malloc(size));
    VELLUM_CHECK_MSG(block != nullptr, "out of guarded memory for key material");
    return block;
  }

  void Give(uint8_t* block, size_t size) {
    sodium_memzero(block, size);
    {
      std::lock_guard lock(mu_);
      std::vector<uint8_t*>& list = free_[size];
      if (size <= kMaxCachedSize && list.size() < kMaxPerSize && cached_ < kMaxCached) {
        list.push_back(block);
        ++cached_;
        return;
      }
    }
    sodium_free(block);
  }

 private:
  static constexpr size_t kMaxCachedSize = 4096;
  static constexpr size_t kMaxPerSize = 64;
  static constexpr size_t kMaxCached = 512;
  std::mutex mu_;
  std::map<size_t, std::vector<uint8_t*>> free_;
  size_t cached_ = 0;
};

GuardedBlockCache& BlockCache() {
  // Never destroyed: SecureBytes in static storage may be released after it would be.
  static auto* cache = new GuardedBlockCache();
  return *cache;
}

}  // namespace

SecureBytes::SecureBytes(size_t size) : size_(size), capacity_(size) {
  if (size == 0) return;
  EnsureSodium();
  data_ = BlockCache().Take(size);
  std::memset(data_, 0, size);
}

SecureBytes SecureBytes::CopyFrom(ByteView data) {
  SecureBytes out(data.size());
  if (!data.empty()) std::memcpy(out.data_, data.data(), data.size());
  return out;
}

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
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
  // The cache wipes the whole allocation before keeping or freeing it.
  if (data_ != nullptr) BlockCache().Give(data_, capacity_);
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
}

void SecureWipe(void* data, size_t size) {
  if (size != 0) sodium_memzero(data, size);
}

}  // namespace vellum::crypto
