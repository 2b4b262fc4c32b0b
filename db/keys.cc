// Copyright (c) Vellum authors.
//
// Key files (docs/formats/key-files.md): one line "<kind> <hex secret>", optionally
// preceded by comment lines starting with '#'. The file is read into a fixed buffer
// that is wiped afterwards; the hex is decoded straight into guarded memory, so the
// secret never sits in an ordinary heap string.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/bytes.h"
#include "base/path.h"
#include "crypto/random.h"
#include "crypto/secure_bytes.h"
#include "db/key_impl.h"
#include "vellum/hash.h"

namespace vellum {
namespace {

constexpr std::string_view kMasterKind = "vellum-master-key-v1";
constexpr std::string_view kHolderKind = "vellum-holder-key-v1";
constexpr std::string_view kSigningKind = "vellum-signing-key-v1";
constexpr size_t kMaxKeyFileSize = 4096;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes exactly out.size() bytes of hex; false on any other input.
bool DecodeHexInto(std::string_view hex, std::span<uint8_t> out) {
  if (hex.size() != out.size() * 2) return false;
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

// Reads the key file at `path` of kind `kind` into `secret` (its size fixed by the
// caller). The message never quotes the file's contents.
Status ReadKeyFile(const std::string& path, std::string_view kind, crypto::SecureBytes* secret) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("key file " + path + " does not exist");
    return Status::IOError("cannot open key file " + path + ": " + std::strerror(err));
  }
  // The buffer is guarded memory too, so the file's bytes never touch the heap.
  crypto::SecureBytes buffer(kMaxKeyFileSize + 1);
  size_t size = 0;
  while (size < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + size, buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::IOError("cannot read key file " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  if (size > kMaxKeyFileSize) {
    return Status::InvalidArgument("key file " + path + " is too large to be a key file");
  }
  std::string_view text(reinterpret_cast<const char*>(buffer.data()), size);
  bool found = false;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = TrimSpace(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.empty() || line.front() == '#') continue;
    if (found) return Status::InvalidArgument("key file " + path + " holds more than one key");
    size_t space = line.find(' ');
    std::string_view line_kind = line.substr(0, space);
    if (line_kind != kind) {
      if (line_kind.starts_with("vellum-")) {
        return Status::InvalidArgument("key file " + path + " holds a " + std::string(line_kind) +
                                       ", not a " + std::string(kind));
      }
      return Status::InvalidArgument("file " + path + " is not a Vellum key file (expected a '" +
                                     std::string(kind) + "' line)");
    }
    std::string_view hex =
        space == std::string_view::npos ? std::string_view() : TrimSpace(line.substr(space + 1));
    if (!DecodeHexInto(hex, secret->span())) {
      return Status::InvalidArgument("key file " + path + ": the key is not " +
                                     std::to_string(secret->size() * 2) + " hex digits");
    }
    found = true;
  }
  if (!found) {
    return Status::InvalidArgument("file " + path + " is not a Vellum key file (no '" +
                                   std::string(kind) + "' line)");
  }
  return Status::OK();
}

// Writes a new key file with mode 0600; never replaces an existing file.
Status WriteKeyFile(const std::string& path, std::string_view comment, std::string_view kind,
                    const crypto::SecureBytes& secret) {
  static constexpr char kDigits[] = "0123456789abcdef";
  // comment + kind + ' ' + hex + '\n', assembled in guarded memory.
  crypto::SecureBytes text(comment.size() + kind.size() + 2 + secret.size() * 2);
  uint8_t* p = text.data();
  std::memcpy(p, comment.data(), comment.size());
  p += comment.size();
  std::memcpy(p, kind.data(), kind.size());
  p += kind.size();
  *p++ = ' ';
  for (size_t i = 0; i < secret.size(); ++i) {
    *p++ = static_cast<uint8_t>(kDigits[secret[i] >> 4]);
    *p++ = static_cast<uint8_t>(kDigits[secret[i] & 0xf]);
  }
  *p++ = '\n';

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST) {
      return Status::AlreadyExists("key file " + path + " already exists (not overwritten)");
    }
    return Status::IOError("cannot create key file " + path + ": " + std::strerror(err));
  }
  size_t written = 0;
  Status status;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Status::IOError("cannot write key file " + path + ": " + std::strerror(errno));
      break;
    }
    written += static_cast<size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = Status::IOError("cannot sync key file " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (!status.ok()) {
    ::unlink(path.c_str());
    return status;
  }
  // Make the new directory entry durable too.
  int dir = ::open(ParentDir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::OK();
}

}  // namespace

// --- MasterKey

MasterKey::MasterKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MasterKey::MasterKey(MasterKey&&) noexcept = default;
MasterKey& MasterKey::operator=(MasterKey&&) noexcept = default;
MasterKey::~MasterKey() = default;

MasterKey MasterKey::Generate() {
  auto impl = std::make_unique<Impl>();
  impl->secret = crypto::SecureBytes(kSize);
  crypto::SystemRandom().Fill(impl->secret.span());
  return MasterKey(std::move(impl));
}

Result<MasterKey> MasterKey::ReadFile(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->secret = crypto::SecureBytes(kSize);
  VELLUM_RETURN_IF_ERROR(ReadKeyFile(path, kMasterKind, &impl->secret));
  return MasterKey(std::move(impl));
}

Result<MasterKey> MasterKey::FromBytes(std::string_view secret) {
  if (secret.size() != kSize) {
    return Status::InvalidArgument("a master key is " + std::to_string(kSize) + " bytes, got " +
                                   std::to_string(secret.size()));
  }
  auto impl = std::make_unique<Impl>();
  impl->secret = crypto::SecureBytes::CopyFrom(AsBytes(secret));
  return MasterKey(std::move(impl));
}

Status MasterKey::WriteFile(const std::string& path) const {
  return WriteKeyFile(path,
                      "# Vellum ledger master key. Keep it secret; losing it loses the data.\n",
                      kMasterKind, impl_->secret);
}

// --- HolderKey

HolderKey::HolderKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HolderKey::HolderKey(HolderKey&&) noexcept = default;
HolderKey& HolderKey::operator=(HolderKey&&) noexcept = default;
HolderKey::~HolderKey() = default;

HolderKey HolderKey::Generate() {
  return HolderKey(
      std::make_unique<Impl>(Impl{crypto::X25519KeyPair::Generate(crypto::SystemRandom())}));
}

Result<HolderKey> HolderKey::ReadFile(const std::string& path) {
  crypto::SecureBytes secret(crypto::X25519KeyPair::kSecretKeySize);
  VELLUM_RETURN_IF_ERROR(ReadKeyFile(path, kHolderKind, &secret));
  VELLUM_ASSIGN_OR_RETURN(auto key_pair, crypto::X25519KeyPair::FromSecretKey(secret));
  return HolderKey(std::make_unique<Impl>(Impl{std::move(key_pair)}));
}

const HolderKey::PublicKey& HolderKey::public_key() const { return impl_->key_pair.public_key(); }

Status HolderKey::WriteFile(const std::string& path) const {
  return WriteKeyFile(path,
                      "# Vellum log key holder (X25519). Keep it secret.\n# public key " +
                          PublicKeyToHex(public_key()) + "\n",
                      kHolderKind, impl_->key_pair.secret_key());
}

// --- NodeSigningKey

NodeSigningKey::NodeSigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NodeSigningKey::NodeSigningKey(NodeSigningKey&&) noexcept = default;
NodeSigningKey& NodeSigningKey::operator=(NodeSigningKey&&) noexcept = default;
NodeSigningKey::~NodeSigningKey() = default;

NodeSigningKey NodeSigningKey::Generate() {
  return NodeSigningKey(
      std::make_unique<Impl>(Impl{crypto::Ed25519KeyPair::Generate(crypto::SystemRandom())}));
}

Result<NodeSigningKey> NodeSigningKey::ReadFile(const std::string& path) {
  crypto::SecureBytes seed(crypto::Ed25519KeyPair::kSeedSize);
  VELLUM_RETURN_IF_ERROR(ReadKeyFile(path, kSigningKind, &seed));
  VELLUM_ASSIGN_OR_RETURN(auto key_pair, crypto::Ed25519KeyPair::FromSeed(seed));
  return NodeSigningKey(std::make_unique<Impl>(Impl{std::move(key_pair)}));
}

const NodeSigningKey::PublicKey& NodeSigningKey::public_key() const {
  return impl_->key_pair.public_key();
}

Status NodeSigningKey::WriteFile(const std::string& path) const {
  return WriteKeyFile(path,
                      "# Vellum node signing key (Ed25519). Keep it secret.\n# public key " +
                          HexEncode(public_key()) + "\n",
                      kSigningKind, impl_->key_pair.seed());
}

std::string PublicKeyToHex(const HolderKey::PublicKey& key) { return HexEncode(key); }

Result<HolderKey::PublicKey> PublicKeyFromHex(std::string_view hex) {
  HolderKey::PublicKey key{};
  if (!DecodeHexInto(TrimSpace(hex), key)) {
    return Status::InvalidArgument("a holder public key is 64 hex digits");
  }
  return key;
}

// --- Hash

std::string HashToHex(const Hash& hash) { return HexEncode(hash); }

Result<Hash> HashFromHex(std::string_view hex) {
  Hash hash{};
  if (!DecodeHexInto(hex, hash)) return Status::InvalidArgument("a hash is 64 hex digits");
  return hash;
}

}  // namespace vellum
