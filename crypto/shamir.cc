// Copyright (c) Vellum authors.

#include "crypto/shamir.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "crypto/hash.h"
#include "vellum/check.h"

namespace vellum::crypto {

namespace shamir_internal {

uint8_t GfMul(uint8_t a, uint8_t b) {
  // Shift-and-add (Russian peasant) multiplication. Every step runs for every input:
  // the conditional additions are done with masks computed arithmetically.
  uint32_t x = a;
  uint32_t y = b;
  uint32_t product = 0;
  for (int i = 0; i < 8; ++i) {
    product ^= x & (0u - (y & 1u));                    // add x when the low bit of y is set
    const uint32_t carry = x >> 7;                     // x * X overflows degree 7
    x = ((x << 1) ^ (0x11Bu & (0u - carry))) & 0xFFu;  // reduce by the AES polynomial
    y >>= 1;
  }
  return static_cast<uint8_t>(product);
}

uint8_t GfInverse(uint8_t a) {
  // a^254 = a^-1 in GF(2^8)* (the group has order 255); a fixed addition chain:
  // 254 = 0b11111110.
  uint8_t r = a;                 // a^1
  for (int i = 0; i < 6; ++i) {  // a^3, a^7, a^15, a^31, a^63, a^127
    r = GfMul(GfMul(r, r), a);
  }
  return GfMul(r, r);  // a^254
}

}  // namespace shamir_internal

namespace {

using shamir_internal::GfInverse;
using shamir_internal::GfMul;

constexpr size_t kTagSize = 16;
constexpr std::string_view kTagDomain = "vellum-shamir-v1";

// Binary encoding (docs/formats/shamir-share.md):
//   magic "VS" | version 0x01 | split id (16) | threshold (1) | index (1) |
//   data length (u32 BE) | data | checksum (first 4 bytes of SHA-256 of all before it)
constexpr uint8_t kMagic0 = 'V';
constexpr uint8_t kMagic1 = 'S';
constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderSize = 3 + ShamirShare::kSplitIdSize + 1 + 1 + 4;
constexpr size_t kChecksumSize = 4;

// Coefficients are drawn this many byte positions at a time, which bounds the
// scratch memory at 254 * kChunk bytes.
constexpr size_t kChunk = 1024;

// tag = SHA-256("vellum-shamir-v1" || split id || k || secret)[:16], written to `out`.
void ComputeTag(const std::array<uint8_t, ShamirShare::kSplitIdSize>& split_id, uint8_t threshold,
                ByteView secret, uint8_t* out) {
  Sha256Hasher hasher;
  hasher.Update(AsBytes(kTagDomain)).Update(split_id);
  hasher.Update(ByteView(&threshold, 1)).Update(secret);
  Hash256 digest = hasher.Finish();
  std::memcpy(out, digest.data(), kTagSize);
  SecureWipe(digest.data(), digest.size());
}

// Lagrange basis coefficients l_j(target) for the points xs (distinct, nonzero):
// l_j(t) = prod_{m != j} (t - x_m) / (x_j - x_m), with subtraction being XOR.
// The x coordinates are public; the computation is constant-time regardless.
std::vector<uint8_t> LagrangeCoefficients(const std::vector<uint8_t>& xs, uint8_t target) {
  std::vector<uint8_t> coefficients(xs.size());
  for (size_t j = 0; j < xs.size(); ++j) {
    uint8_t numerator = 1;
    uint8_t denominator = 1;
    for (size_t m = 0; m < xs.size(); ++m) {
      if (m == j) continue;
      numerator = GfMul(numerator, static_cast<uint8_t>(target ^ xs[m]));
      denominator = GfMul(denominator, static_cast<uint8_t>(xs[j] ^ xs[m]));
    }
    VELLUM_CHECK_NE(denominator, 0);  // the caller guarantees distinct x coordinates
    coefficients[j] = GfMul(numerator, GfInverse(denominator));
  }
  return coefficients;
}

// Evaluates, at `target`, the polynomials through the first `k` shares (one per byte
// position) and writes the values to `out` (data-length bytes).
void Interpolate(std::span<const ShamirShare> shares, size_t k, uint8_t target, uint8_t* out) {
  std::vector<uint8_t> xs(k);
  for (size_t j = 0; j < k; ++j) xs[j] = shares[j].index;
  const std::vector<uint8_t> coefficients = LagrangeCoefficients(xs, target);
  const size_t length = shares[0].data.size();
  std::memset(out, 0, length);
  for (size_t j = 0; j < k; ++j) {
    const uint8_t c = coefficients[j];
    const uint8_t* y = shares[j].data.data();
    for (size_t b = 0; b < length; ++b) out[b] ^= GfMul(c, y[b]);
  }
}

std::string IndexName(uint8_t index) { return "share index " + std::to_string(index); }

Status DamagedLine(std::string_view what) {
  return Status::Corruption("share line is damaged: " + std::string(what));
}

// All ones when lo <= v <= hi, zero otherwise; branch-free.
uint32_t InRangeMask(int32_t v, int32_t lo, int32_t hi) {
  const uint32_t outside = static_cast<uint32_t>((v - lo) | (hi - v)) >> 31;
  return outside - 1u;
}

// The value of hex digit `c` (either case), or 0x100 for a non-hex character.
// Branch-free, since the digits encode share data.
uint32_t HexDigitValue(char c) {
  const int32_t u = static_cast<uint8_t>(c);
  const int32_t lower = u | 0x20;
  const uint32_t is_digit = InRangeMask(u, '0', '9');
  const uint32_t is_letter = InRangeMask(lower, 'a', 'f');
  const uint32_t digit = static_cast<uint32_t>(u - '0');
  const uint32_t letter = static_cast<uint32_t>(lower - 'a' + 10);
  return (digit & is_digit) | (letter & is_letter) | (~(is_digit | is_letter) & 0x100u);
}

}  // namespace

Result<std::vector<ShamirShare>> ShamirSplit(ByteView secret, int threshold, int shares,
                                             RandomSource& random) {
  if (shares < 1 || shares > 255) {
    return Status::InvalidArgument("the number of shares must be between 1 and 255, got " +
                                   std::to_string(shares));
  }
  if (threshold < 1 || threshold > shares) {
    return Status::InvalidArgument("the threshold must be between 1 and the number of shares (" +
                                   std::to_string(shares) + "), got " + std::to_string(threshold));
  }
  if (secret.size() > UINT32_MAX - kTagSize) {
    return Status::InvalidArgument("the secret is too large to split (at most 4 GiB - 16 bytes)");
  }
  const size_t k = static_cast<size_t>(threshold);
  const size_t n = static_cast<size_t>(shares);
  const size_t length = secret.size() + kTagSize;

  std::array<uint8_t, ShamirShare::kSplitIdSize> split_id;
  random.Fill(split_id);

  // The payload: secret || tag.
  SecureBytes payload(length);
  if (!secret.empty()) std::memcpy(payload.data(), secret.data(), secret.size());
  ComputeTag(split_id, static_cast<uint8_t>(threshold), secret, payload.data() + secret.size());

  std::vector<ShamirShare> result(n);
  for (size_t i = 0; i < n; ++i) {
    result[i].split_id = split_id;
    result[i].threshold = static_cast<uint8_t>(threshold);
    result[i].index = static_cast<uint8_t>(i + 1);
    result[i].data = SecureBytes(length);
  }

  // For each byte position b, the polynomial is
  //   f_b(x) = payload[b] + c_1 x + ... + c_{k-1} x^{k-1}
  // with coefficient c_d at coefficients[(d - 1) * chunk_length + (b - start)].
  SecureBytes coefficients((k - 1) * std::min(kChunk, length));
  for (size_t start = 0; start < length; start += kChunk) {
    const size_t chunk_length = std::min(kChunk, length - start);
    std::span<uint8_t> chunk_coefficients = coefficients.span().first((k - 1) * chunk_length);
    random.Fill(chunk_coefficients);
    for (size_t i = 0; i < n; ++i) {
      const uint8_t x = result[i].index;
      uint8_t* y = result[i].data.data() + start;
      for (size_t b = 0; b < chunk_length; ++b) {
        // Horner's rule from the highest coefficient down.
        uint8_t value = 0;
        for (size_t d = k - 1; d >= 1; --d) {
          value = GfMul(value, x) ^ chunk_coefficients[(d - 1) * chunk_length + b];
        }
        y[b] = GfMul(value, x) ^ payload[start + b];
      }
    }
  }
  return result;
}

Result<SecureBytes> ShamirCombine(std::span<const ShamirShare> shares) {
  if (shares.empty()) return Status::InvalidArgument("no shares given");
  const ShamirShare& first = shares[0];
  bool seen[256] = {};
  for (const ShamirShare& share : shares) {
    if (share.split_id != first.split_id) {
      return Status::InvalidArgument("shares come from different splits");
    }
    if (share.threshold != first.threshold) {
      return Status::Corruption("shares disagree about the threshold: " + IndexName(first.index) +
                                " says " + std::to_string(first.threshold) + ", " +
                                IndexName(share.index) + " says " +
                                std::to_string(share.threshold));
    }
    if (share.data.size() != first.data.size()) {
      return Status::Corruption("shares disagree about the data length: " + IndexName(first.index) +
                                " has " + std::to_string(first.data.size()) + " bytes, " +
                                IndexName(share.index) + " has " +
                                std::to_string(share.data.size()));
    }
    if (share.index == 0) {
      return Status::Corruption("share index 0 is invalid (shares are numbered from 1)");
    }
    if (seen[share.index]) {
      return Status::InvalidArgument(IndexName(share.index) + " appears twice");
    }
    seen[share.index] = true;
  }
  if (first.threshold == 0) {
    return Status::Corruption("the shares have threshold 0 (a threshold is at least 1)");
  }
  if (first.data.size() < kTagSize) {
    return Status::Corruption("the shares hold " + std::to_string(first.data.size()) +
                              " data bytes, fewer than the 16-byte tag");
  }
  const size_t k = first.threshold;
  if (shares.size() < k) {
    return Status::InvalidArgument("need " + std::to_string(k) + " shares, got " +
                                   std::to_string(shares.size()));
  }

  const size_t length = first.data.size();
  const size_t secret_length = length - kTagSize;
  SecureBytes payload(length);
  Interpolate(shares, k, 0, payload.data());

  std::array<uint8_t, kTagSize> expected_tag;
  ComputeTag(first.split_id, first.threshold, payload.view().first(secret_length),
             expected_tag.data());
  const bool tag_ok = ConstantTimeEquals(expected_tag, payload.view().subspan(secret_length));
  SecureWipe(expected_tag.data(), expected_tag.size());
  if (!tag_ok) {
    return Status::Corruption(
        "shares do not reconstruct a valid secret: at least one share was altered");
  }

  // Every further share must lie on the same polynomials.
  if (shares.size() > k) {
    SecureBytes expected(length);
    for (size_t e = k; e < shares.size(); ++e) {
      Interpolate(shares, k, shares[e].index, expected.data());
      if (!ConstantTimeEquals(expected.view(), shares[e].data.view())) {
        return Status::Corruption(IndexName(shares[e].index) +
                                  " is inconsistent with the other shares: it was altered");
      }
    }
  }

  payload.Truncate(secret_length);
  return payload;
}

std::string EncodeShare(const ShamirShare& share) {
  VELLUM_CHECK_LE(share.data.size(), UINT32_MAX);
  Bytes binary;
  binary.reserve(kHeaderSize + share.data.size() + kChecksumSize);
  binary.push_back(kMagic0);
  binary.push_back(kMagic1);
  binary.push_back(kVersion);
  binary.insert(binary.end(), share.split_id.begin(), share.split_id.end());
  binary.push_back(share.threshold);
  binary.push_back(share.index);
  PutFixed32BE(&binary, static_cast<uint32_t>(share.data.size()));
  binary.insert(binary.end(), share.data.view().begin(), share.data.view().end());
  const Hash256 checksum = Sha256(binary);
  binary.insert(binary.end(), checksum.begin(), checksum.begin() + kChecksumSize);

  std::string line(kShareLinePrefix);
  std::string hex = HexEncode(binary);
  line += hex;
  SecureWipe(hex.data(), hex.size());
  SecureWipe(binary.data(), binary.size());
  return line;
}

Result<ShamirShare> DecodeShare(std::string_view line) {
  line = TrimSpace(line);
  if (!line.starts_with(kShareLinePrefix)) {
    // A share line of another format version is recognisably one.
    constexpr std::string_view kFamily = "vellum-share-";
    if (line.starts_with(kFamily)) {
      std::string_view rest = line.substr(kFamily.size());
      size_t digits = 0;
      while (digits < rest.size() && digits < 9 && rest[digits] >= '0' && rest[digits] <= '9') {
        ++digits;
      }
      if (digits > 0 && digits < rest.size() && rest[digits] == '-') {
        return Status::NotSupported("share line has format version " +
                                    std::string(rest.substr(0, digits)) +
                                    "; this build reads version 1 only");
      }
    }
    return Status::InvalidArgument("not a Vellum share line (it should start with \"" +
                                   std::string(kShareLinePrefix) + "\")");
  }
  const std::string_view hex = line.substr(kShareLinePrefix.size());
  if (hex.size() % 2 != 0) return DamagedLine("odd number of hex digits");
  const size_t size = hex.size() / 2;
  if (size < kHeaderSize + kTagSize + kChecksumSize) {
    return DamagedLine("too short (" + std::to_string(size) + " bytes; a share has at least " +
                       std::to_string(kHeaderSize + kTagSize + kChecksumSize) + ")");
  }

  SecureBytes binary(size);
  for (size_t i = 0; i < size; ++i) {
    const uint32_t hi = HexDigitValue(hex[2 * i]);
    const uint32_t lo = HexDigitValue(hex[2 * i + 1]);
    if (((hi | lo) & 0x100u) != 0) {
      const size_t position = kShareLinePrefix.size() + 2 * i + ((hi & 0x100u) != 0 ? 0 : 1);
      return DamagedLine("non-hex character at position " + std::to_string(position));
    }
    binary[i] = static_cast<uint8_t>((hi << 4) | lo);
  }

  const size_t body_size = size - kChecksumSize;
  Hash256 checksum = Sha256(binary.view().first(body_size));
  const bool checksum_ok =
      ConstantTimeEquals(ByteView(checksum).first(kChecksumSize), binary.view().subspan(body_size));
  SecureWipe(checksum.data(), checksum.size());
  if (!checksum_ok) return DamagedLine("checksum mismatch");

  if (binary[0] != kMagic0 || binary[1] != kMagic1) return DamagedLine("bad magic bytes");
  if (binary[2] != kVersion) {
    return DamagedLine("binary version " + std::to_string(binary[2]) +
                       " does not match the line's version 1");
  }
  ShamirShare share;
  std::memcpy(share.split_id.data(), binary.data() + 3, ShamirShare::kSplitIdSize);
  share.threshold = binary[3 + ShamirShare::kSplitIdSize];
  share.index = binary[3 + ShamirShare::kSplitIdSize + 1];
  const uint32_t data_length = DecodeFixed32BE(binary.data() + kHeaderSize - 4);
  const size_t present = body_size - kHeaderSize;
  if (data_length != present) {
    return DamagedLine("the length field says " + std::to_string(data_length) + " data bytes but " +
                       std::to_string(present) + " are present");
  }
  if (share.threshold == 0) return DamagedLine("threshold 0 (a threshold is at least 1)");
  if (share.index == 0) return DamagedLine("index 0 (shares are numbered from 1)");
  share.data = SecureBytes::CopyFrom(binary.view().subspan(kHeaderSize, present));
  return share;
}

}  // namespace vellum::crypto
