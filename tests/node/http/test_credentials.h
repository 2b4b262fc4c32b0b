// Copyright (c) Vellum authors.
//
// The certificates the HTTPS server and client tests share: a cluster CA, a foreign CA
// with the same subject name (only the signature tells them apart), and certificates
// issued for 127.0.0.1 (no DNS name, so "localhost" must not verify). Each is made once
// per test binary, on first use, since generating keys is slow; they are never freed, so
// that no test outlives them. Also Text(), the plain-text response handlers answer with.
//
// Thread safety: the accessors may be called from any thread (function-local statics).

#ifndef VELLUM_TESTS_NODE_HTTP_TEST_CREDENTIALS_H_
#define VELLUM_TESTS_NODE_HTTP_TEST_CREDENTIALS_H_

#include <string>
#include <string_view>
#include <utility>

#include "crypto/random.h"
#include "crypto/x509.h"
#include "node/http/router.h"
#include "vellum/check.h"
#include "vellum/result.h"

namespace vellum::http::testing {

inline crypto::CertifiedKey MakeCa(std::string_view name) {
  Result<crypto::CertifiedKey> ca =
      crypto::CreateCertificateAuthority(name, 1, crypto::SystemRandom());
  VELLUM_CHECK(ca.ok());
  return std::move(ca).value();
}

inline const crypto::CertifiedKey& ClusterCa() {
  static const auto* const ca = new crypto::CertifiedKey(MakeCa("vellum test cluster"));
  return *ca;
}

// Same subject name as the cluster CA, different key: only the signature tells them apart.
inline const crypto::CertifiedKey& ForeignCa() {
  static const auto* const ca = new crypto::CertifiedKey(MakeCa("vellum test cluster"));
  return *ca;
}

inline crypto::CertifiedKey Issue(const crypto::CertifiedKey& ca, std::string cn,
                                  crypto::CertificateUsage usage) {
  crypto::CertificateRequest request;
  request.common_name = std::move(cn);
  request.ip_addresses = {"127.0.0.1"};  // no DNS names: "localhost" must not verify
  request.usage = usage;
  request.validity_days = 1;
  Result<crypto::CertifiedKey> cert = crypto::IssueCertificate(ca, request, crypto::SystemRandom());
  VELLUM_CHECK(cert.ok());
  return std::move(cert).value();
}

inline const crypto::CertifiedKey& ServerCert() {
  static const auto* const cert = new crypto::CertifiedKey(
      Issue(ClusterCa(), "node-1", crypto::CertificateUsage::kServerAndClient));
  return *cert;
}

inline const crypto::CertifiedKey& Alice() {
  static const auto* const cert =
      new crypto::CertifiedKey(Issue(ClusterCa(), "alice", crypto::CertificateUsage::kClient));
  return *cert;
}

inline const crypto::CertifiedKey& Bob() {
  static const auto* const cert =
      new crypto::CertifiedKey(Issue(ClusterCa(), "bob", crypto::CertificateUsage::kClient));
  return *cert;
}

// A text/plain response.
inline Response Text(std::string body, int status = 200) {
  Response response;
  response.status = status;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

}  // namespace vellum::http::testing

#endif  // VELLUM_TESTS_NODE_HTTP_TEST_CREDENTIALS_H_
