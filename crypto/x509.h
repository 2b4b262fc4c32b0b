// Copyright (c) Vellum authors.
//
// X.509 issuance for a Vellum cluster: a self-signed cluster certificate authority,
// and node and client certificates signed by it. Every key is ECDSA P-256 and every
// signature ECDSA with SHA-256; certificates are X.509 v3 in PEM. Key pairs come from
// OpenSSL's DRBG; the RandomSource supplies only the serial numbers.
//
// Private keys are PKCS#8 PEM held in guarded memory (SecureBytes); error messages
// never quote them.
//
// Thread safety: all functions are thread-safe (they share no state).

#ifndef VELLUM_CRYPTO_X509_H_
#define VELLUM_CRYPTO_X509_H_

#include <string>
#include <string_view>
#include <vector>

#include "crypto/secure_bytes.h"
#include "vellum/env.h"
#include "vellum/result.h"

namespace vellum::crypto {

// A certificate and the private key it certifies.
struct CertifiedKey {
  std::string certificate_pem;
  SecureBytes private_key_pem;  // PKCS#8 ("-----BEGIN PRIVATE KEY-----")
};

// A self-signed CA certificate for a fresh key: subject and issuer CN=`common_name`,
// basicConstraints critical CA:TRUE, keyUsage critical keyCertSign+cRLSign, a subject
// key identifier. Valid from one hour ago (clock skew between nodes) until
// `validity_days` days from now. InvalidArgument for an empty or over-long (> 64
// bytes) common name or a validity outside 1..36500 days.
Result<CertifiedKey> CreateCertificateAuthority(std::string_view common_name, int validity_days,
                                                RandomSource& random);

enum class CertificateUsage {
  kServer,           // extendedKeyUsage serverAuth
  kClient,           // extendedKeyUsage clientAuth
  kServerAndClient,  // both (cluster nodes: they dial and accept)
};

struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries (IPv4 or IPv6 text)
  CertificateUsage usage = CertificateUsage::kServerAndClient;
  int validity_days = 825;
};

// A certificate for a fresh key, signed by `ca`: subject CN=`request.common_name`,
// basicConstraints critical CA:FALSE, keyUsage critical digitalSignature, the
// extendedKeyUsage of `request.usage`, subjectAltName from the names (omitted when
// there are none), subject and authority key identifiers. Valid from one hour ago
// until `validity_days` days from now.
// InvalidArgument for a malformed or non-CA `ca`, a CA key that does not match its
// certificate, an empty or over-long common name, a DNS name that is empty or has
// characters outside [A-Za-z0-9.*-], an IP address that does not parse, or a
// validity outside 1..36500 days.
Result<CertifiedKey> IssueCertificate(const CertifiedKey& ca, const CertificateRequest& request,
                                      RandomSource& random);

// The subject common name of a PEM certificate (UTF-8). InvalidArgument for malformed
// PEM, a certificate without a common name, or one with several (ambiguous).
Result<std::string> CertificateCommonName(std::string_view certificate_pem);

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_X509_H_
