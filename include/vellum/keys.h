// Copyright (c) Vellum authors.
//
// Key material a ledger needs, as opaque objects whose secret bytes live in guarded
// memory (never on a command line, in a log or in an error message):
//
//   MasterKey   the ledger's 32-byte master secret. Every other key of the ledger is
//               derived from it (HKDF-SHA-256 with a label per purpose): per-table
//               encryption and keyed-hash keys, the metadata MAC key, and the
//               Ed25519 key that signs digests.
//   HolderKey   an X25519 key pair of a log key holder. Each log entry's key is split
//               k-of-n with Shamir's scheme and each share sealed to one holder's
//               public key; k holders' secret keys decrypt an entry.
//
// Key files are text, one key per file, written with mode 0600 and never
// overwritten (docs/formats/key-files.md):
//   vellum-master-key-v1 <64 hex digits>
//   vellum-holder-key-v1 <64 hex digits of the X25519 secret key>
//
// Thread safety: const methods may be called concurrently.

#ifndef VELLUM_KEYS_H_
#define VELLUM_KEYS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum {

class MasterKey {
 public:
  static constexpr size_t kSize = 32;

  // A new key from the operating system's CSPRNG.
  static MasterKey Generate();
  // Reads a master key file. NotFound if it does not exist; InvalidArgument (naming
  // the file, never its contents) if it is not a master key file.
  static Result<MasterKey> ReadFile(const std::string& path);
  // The key whose secret is `secret` (exactly kSize bytes; InvalidArgument
  // otherwise), for programs that fetch the secret from elsewhere (a KMS, a vault).
  // The caller wipes its own copy.
  static Result<MasterKey> FromBytes(std::string_view secret);

  MasterKey(MasterKey&&) noexcept;
  MasterKey& operator=(MasterKey&&) noexcept;
  ~MasterKey();

  // Writes the key to a new file with mode 0600 (synced). AlreadyExists if `path`
  // exists: a key file is never overwritten.
  Status WriteFile(const std::string& path) const;

  // Implementation access (the secret stays in guarded memory).
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit MasterKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class HolderKey {
 public:
  using PublicKey = std::array<uint8_t, 32>;

  static HolderKey Generate();
  static Result<HolderKey> ReadFile(const std::string& path);

  HolderKey(HolderKey&&) noexcept;
  HolderKey& operator=(HolderKey&&) noexcept;
  ~HolderKey();

  const PublicKey& public_key() const;
  // Writes the key pair to a new file, mode 0600. AlreadyExists if `path` exists.
  Status WriteFile(const std::string& path) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit HolderKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A replicated node's own Ed25519 signing key. It seals the log entries the node
// appends as leader, signs its peer messages and its identity statement; the other
// members know its public key from the membership table. Every node has its own
// (never shared, unlike the master key). File kind "vellum-signing-key-v1".
class NodeSigningKey {
 public:
  using PublicKey = std::array<uint8_t, 32>;

  static NodeSigningKey Generate();
  static Result<NodeSigningKey> ReadFile(const std::string& path);

  NodeSigningKey(NodeSigningKey&&) noexcept;
  NodeSigningKey& operator=(NodeSigningKey&&) noexcept;
  ~NodeSigningKey();

  const PublicKey& public_key() const;
  // Writes the key to a new file, mode 0600. AlreadyExists if `path` exists.
  Status WriteFile(const std::string& path) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit NodeSigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// 64 hex digits <-> a holder public key (InvalidArgument for anything else).
std::string PublicKeyToHex(const HolderKey::PublicKey& key);
Result<HolderKey::PublicKey> PublicKeyFromHex(std::string_view hex);

}  // namespace vellum

#endif  // VELLUM_KEYS_H_
