// Copyright (c) Vellum authors.
//
// Tests of crypto/x509.h: issued chains verify with OpenSSL's own verifier against the
// CA (and not against another CA), extensions are as documented, keys match, and bad
// input is InvalidArgument.
//
// Thread safety: single-threaded tests.

#include "crypto/x509.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "tests/test_util.h"

namespace vellum::crypto {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<&X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<&EVP_PKEY_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<&X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<&X509_STORE_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<&BIO_free_all>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<&GENERAL_NAMES_free>>;

X509Ptr ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  EXPECT_NE(cert, nullptr) << "certificate PEM does not parse";
  return cert;
}

EvpPkeyPtr ParseKey(const SecureBytes& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  EXPECT_NE(key, nullptr) << "private key PEM does not parse";
  return key;
}

// X509_verify_cert of `leaf` against a store holding only `ca` (no system store), for
// `purpose` (X509_PURPOSE_SSL_SERVER / _CLIENT, or 0 for none). Returns the OpenSSL
// verification error (X509_V_OK when the chain verifies).
int VerifyChain(const std::string& ca_pem, const std::string& leaf_pem, int purpose) {
  X509Ptr ca = ParseCert(ca_pem);
  X509Ptr leaf = ParseCert(leaf_pem);
  if (ca == nullptr || leaf == nullptr) return -1;
  StorePtr store(X509_STORE_new());
  EXPECT_EQ(X509_STORE_add_cert(store.get(), ca.get()), 1);
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  EXPECT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr), 1);
  if (purpose != 0) {
    EXPECT_EQ(X509_STORE_CTX_set_purpose(ctx.get(), purpose), 1);
  }
  const int ok = X509_verify_cert(ctx.get());
  const int error = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (ok == 1) {
    EXPECT_EQ(error, X509_V_OK);
  }
  return ok == 1 ? X509_V_OK : (error == X509_V_OK ? -1 : error);
}

CertifiedKey MakeCa(std::string_view name = "vellum-test-ca") {
  Result<CertifiedKey> ca = CreateCertificateAuthority(name, 30, SystemRandom());
  EXPECT_TRUE(ca.ok()) << ca.status().ToString();
  return ca.ok() ? std::move(ca).value() : CertifiedKey{};
}

CertificateRequest NodeRequest() {
  CertificateRequest request;
  request.common_name = "node-7";
  request.dns_names = {"node7.cluster.local", "localhost"};
  request.ip_addresses = {"127.0.0.1", "::1"};
  request.usage = CertificateUsage::kServerAndClient;
  request.validity_days = 30;
  return request;
}

TEST(X509Test, CertificateAuthorityIsASelfSignedCa) {
  const CertifiedKey ca = MakeCa("Vellum cluster CA");
  X509Ptr cert = ParseCert(ca.certificate_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_NE(X509_get_key_usage(cert.get()) & KU_KEY_CERT_SIGN, 0u);
  EXPECT_NE(X509_get_extension_flags(cert.get()) & EXFLAG_SS, 0u);  // self-signed
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  Result<std::string> cn = CertificateCommonName(ca.certificate_pem);
  ASSERT_TRUE(cn.ok()) << cn.status().ToString();
  EXPECT_EQ(*cn, "Vellum cluster CA");
  // The CA verifies against itself.
  EXPECT_EQ(VerifyChain(ca.certificate_pem, ca.certificate_pem, 0), X509_V_OK);
}

TEST(X509Test, IssuedChainVerifiesAgainstTheCa) {
  const CertifiedKey ca = MakeCa();
  Result<CertifiedKey> node = IssueCertificate(ca, NodeRequest(), SystemRandom());
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(VerifyChain(ca.certificate_pem, node->certificate_pem, 0), X509_V_OK);
  EXPECT_EQ(VerifyChain(ca.certificate_pem, node->certificate_pem, X509_PURPOSE_SSL_SERVER),
            X509_V_OK);
  EXPECT_EQ(VerifyChain(ca.certificate_pem, node->certificate_pem, X509_PURPOSE_SSL_CLIENT),
            X509_V_OK);
  Result<std::string> cn = CertificateCommonName(node->certificate_pem);
  ASSERT_TRUE(cn.ok());
  EXPECT_EQ(*cn, "node-7");

  X509Ptr cert = ParseCert(node->certificate_pem);
  X509Ptr ca_cert = ParseCert(ca.certificate_pem);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(X509_check_issued(ca_cert.get(), cert.get()), X509_V_OK);
  EXPECT_NE(X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE, 0u);
  EXPECT_EQ(X509_get_key_usage(cert.get()) & KU_KEY_CERT_SIGN, 0u);
}

TEST(X509Test, CertificateFromAnotherCaDoesNotVerify) {
  const CertifiedKey ca = MakeCa("cluster-a");
  const CertifiedKey other_ca = MakeCa("cluster-b");
  Result<CertifiedKey> foreign = IssueCertificate(other_ca, NodeRequest(), SystemRandom());
  ASSERT_TRUE(foreign.ok()) << foreign.status().ToString();
  EXPECT_EQ(VerifyChain(ca.certificate_pem, foreign->certificate_pem, 0),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  // Same subject name for both CAs: the signature, not the name, decides.
  const CertifiedKey twin_ca = MakeCa("cluster-a");
  Result<CertifiedKey> twin = IssueCertificate(twin_ca, NodeRequest(), SystemRandom());
  ASSERT_TRUE(twin.ok());
  EXPECT_NE(VerifyChain(ca.certificate_pem, twin->certificate_pem, 0), X509_V_OK);
}

TEST(X509Test, SubjectAltNamesArePresent) {
  const CertifiedKey ca = MakeCa();
  Result<CertifiedKey> node = IssueCertificate(ca, NodeRequest(), SystemRandom());
  ASSERT_TRUE(node.ok());
  X509Ptr cert = ParseCert(node->certificate_pem);
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  ASSERT_NE(names, nullptr);
  std::set<std::string> dns;
  std::vector<std::vector<uint8_t>> ips;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      dns.insert(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                             ASN1_STRING_length(name->d.dNSName)));
    } else if (name->type == GEN_IPADD) {
      const uint8_t* p = ASN1_STRING_get0_data(name->d.iPAddress);
      ips.emplace_back(p, p + ASN1_STRING_length(name->d.iPAddress));
    }
  }
  EXPECT_EQ(dns, (std::set<std::string>{"node7.cluster.local", "localhost"}));
  ASSERT_EQ(ips.size(), 2u);
  EXPECT_EQ(ips[0], (std::vector<uint8_t>{127, 0, 0, 1}));
  std::vector<uint8_t> loopback6(16, 0);
  loopback6[15] = 1;
  EXPECT_EQ(ips[1], loopback6);
  // OpenSSL's own name checks agree.
  EXPECT_EQ(X509_check_host(cert.get(), "node7.cluster.local", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "other.cluster.local", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.0.0.1", 0), 0);
}

TEST(X509Test, NoSubjectAltNameWhenNoNames) {
  const CertifiedKey ca = MakeCa();
  CertificateRequest request;
  request.common_name = "client-admin";
  request.usage = CertificateUsage::kClient;
  Result<CertifiedKey> client = IssueCertificate(ca, request, SystemRandom());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  X509Ptr cert = ParseCert(client->certificate_pem);
  EXPECT_LT(X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1), 0);
}

TEST(X509Test, ExtendedKeyUsagesFollowTheRequest) {
  const CertifiedKey ca = MakeCa();
  struct Case {
    CertificateUsage usage;
    uint32_t xku;
    bool server_ok;
    bool client_ok;
  };
  const Case cases[] = {
      {CertificateUsage::kServer, XKU_SSL_SERVER, true, false},
      {CertificateUsage::kClient, XKU_SSL_CLIENT, false, true},
      {CertificateUsage::kServerAndClient, XKU_SSL_SERVER | XKU_SSL_CLIENT, true, true},
  };
  for (const Case& c : cases) {
    CertificateRequest request = NodeRequest();
    request.usage = c.usage;
    Result<CertifiedKey> issued = IssueCertificate(ca, request, SystemRandom());
    ASSERT_TRUE(issued.ok()) << issued.status().ToString();
    X509Ptr cert = ParseCert(issued->certificate_pem);
    ASSERT_NE(X509_get_extension_flags(cert.get()) & EXFLAG_XKUSAGE, 0u);
    EXPECT_EQ(X509_get_extended_key_usage(cert.get()), c.xku);
    EXPECT_EQ(VerifyChain(ca.certificate_pem, issued->certificate_pem, X509_PURPOSE_SSL_SERVER) ==
                  X509_V_OK,
              c.server_ok);
    EXPECT_EQ(VerifyChain(ca.certificate_pem, issued->certificate_pem, X509_PURPOSE_SSL_CLIENT) ==
                  X509_V_OK,
              c.client_ok);
  }
}

TEST(X509Test, PrivateKeysParseAndMatchTheirCertificates) {
  const CertifiedKey ca = MakeCa();
  Result<CertifiedKey> node = IssueCertificate(ca, NodeRequest(), SystemRandom());
  ASSERT_TRUE(node.ok());
  for (const CertifiedKey* ck : std::vector<const CertifiedKey*>{&ca, &node.value()}) {
    const std::string_view pem = AsChars(ck->private_key_pem.view());
    EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----")) << "PKCS#8 PEM expected";
    EvpPkeyPtr key = ParseKey(ck->private_key_pem);
    X509Ptr cert = ParseCert(ck->certificate_pem);
    ASSERT_NE(key, nullptr);
    EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
    EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
    EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
    EVP_PKEY* cert_key = X509_get0_pubkey(cert.get());
    EXPECT_EQ(EVP_PKEY_eq(cert_key, key.get()), 1);
  }
  // And not the other's.
  X509Ptr ca_cert = ParseCert(ca.certificate_pem);
  EvpPkeyPtr node_key = ParseKey(node->private_key_pem);
  EXPECT_NE(X509_check_private_key(ca_cert.get(), node_key.get()), 1);
  ERR_clear_error();
}

TEST(X509Test, SerialNumbersAndValidity) {
  const CertifiedKey ca = MakeCa();
  std::set<std::string> serials;
  for (int i = 0; i < 4; ++i) {
    CertificateRequest request = NodeRequest();
    request.validity_days = 10;
    Result<CertifiedKey> node = IssueCertificate(ca, request, SystemRandom());
    ASSERT_TRUE(node.ok());
    X509Ptr cert = ParseCert(node->certificate_pem);
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
    ASSERT_EQ(ASN1_STRING_length(serial), 16);
    const uint8_t* s = ASN1_STRING_get0_data(serial);
    serials.insert(HexEncode(ByteView(s, 16)));
    int day = 0;
    int sec = 0;
    // notBefore is an hour in the past; notAfter ten days ahead.
    ASSERT_EQ(ASN1_TIME_diff(&day, &sec, nullptr, X509_get0_notBefore(cert.get())), 1);
    EXPECT_EQ(day, 0);
    EXPECT_LE(sec, -3590);
    EXPECT_GE(sec, -3700);
    ASSERT_EQ(ASN1_TIME_diff(&day, &sec, nullptr, X509_get0_notAfter(cert.get())), 1);
    EXPECT_TRUE(day == 10 || (day == 9 && sec > 86300)) << day << "d " << sec << "s";
  }
  EXPECT_EQ(serials.size(), 4u);
}

TEST(X509Test, SeededRandomGivesReproducibleSerials) {
  const CertifiedKey ca = MakeCa();
  SeededRandom r1(42);
  SeededRandom r2(42);
  Result<CertifiedKey> a = IssueCertificate(ca, NodeRequest(), r1);
  Result<CertifiedKey> b = IssueCertificate(ca, NodeRequest(), r2);
  ASSERT_TRUE(a.ok() && b.ok());
  X509Ptr ca_cert = ParseCert(a->certificate_pem);
  X509Ptr cb_cert = ParseCert(b->certificate_pem);
  EXPECT_EQ(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca_cert.get()),
                             X509_get0_serialNumber(cb_cert.get())),
            0);
  // Keys come from OpenSSL's DRBG, not from the seeded source.
  EXPECT_NE(a->certificate_pem, b->certificate_pem);
}

TEST(X509Test, MalformedPemIsInvalidArgument) {
  EXPECT_CODE(CertificateCommonName("").status(), kInvalidArgument);
  EXPECT_CODE(CertificateCommonName("not a certificate").status(), kInvalidArgument);
  EXPECT_CODE(
      CertificateCommonName("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
          .status(),
      kInvalidArgument);

  const CertifiedKey ca = MakeCa();
  CertifiedKey bad_cert{"garbage", ca.private_key_pem.Clone()};
  EXPECT_CODE(IssueCertificate(bad_cert, NodeRequest(), SystemRandom()).status(), kInvalidArgument);
  CertifiedKey bad_key{ca.certificate_pem, SecureBytes::CopyFrom(AsBytes("garbage"))};
  const Result<CertifiedKey> r = IssueCertificate(bad_key, NodeRequest(), SystemRandom());
  EXPECT_CODE(r.status(), kInvalidArgument);
  EXPECT_EQ(r.status().message().find("garbage"), std::string::npos) << "input quoted";
  // Truncated PEM of a real certificate.
  const std::string truncated = ca.certificate_pem.substr(0, ca.certificate_pem.size() / 2);
  EXPECT_CODE(CertificateCommonName(truncated).status(), kInvalidArgument);
}

TEST(X509Test, IssuerMustBeAMatchingCa) {
  const CertifiedKey ca = MakeCa();
  const CertifiedKey other = MakeCa();
  CertifiedKey mismatched{ca.certificate_pem, other.private_key_pem.Clone()};
  const Result<CertifiedKey> r1 = IssueCertificate(mismatched, NodeRequest(), SystemRandom());
  EXPECT_CODE(r1.status(), kInvalidArgument);
  EXPECT_NE(r1.status().message().find("does not match"), std::string::npos);

  Result<CertifiedKey> leaf = IssueCertificate(ca, NodeRequest(), SystemRandom());
  ASSERT_TRUE(leaf.ok());
  const Result<CertifiedKey> r2 = IssueCertificate(*leaf, NodeRequest(), SystemRandom());
  EXPECT_CODE(r2.status(), kInvalidArgument);
  EXPECT_NE(r2.status().message().find("not a CA"), std::string::npos);
}

TEST(X509Test, BadRequestsAreInvalidArgument) {
  const CertifiedKey ca = MakeCa();
  EXPECT_CODE(CreateCertificateAuthority("", 10, SystemRandom()).status(), kInvalidArgument);
  EXPECT_CODE(CreateCertificateAuthority("ca", 0, SystemRandom()).status(), kInvalidArgument);
  EXPECT_CODE(CreateCertificateAuthority(std::string(65, 'c'), 10, SystemRandom()).status(),
              kInvalidArgument);

  auto issue = [&](auto mutate) {
    CertificateRequest request = NodeRequest();
    mutate(request);
    return IssueCertificate(ca, request, SystemRandom()).status();
  };
  EXPECT_CODE(issue([](CertificateRequest& r) { r.common_name.clear(); }), kInvalidArgument);
  EXPECT_CODE(issue([](CertificateRequest& r) { r.common_name = std::string(65, 'x'); }),
              kInvalidArgument);
  EXPECT_CODE(issue([](CertificateRequest& r) { r.common_name = "bad\xff utf8"; }),
              kInvalidArgument);
  EXPECT_CODE(issue([](CertificateRequest& r) { r.dns_names = {"has space.example"}; }),
              kInvalidArgument);
  EXPECT_CODE(issue([](CertificateRequest& r) { r.dns_names = {"a,DNS:evil.example"}; }),
              kInvalidArgument);
  EXPECT_CODE(issue([](CertificateRequest& r) { r.dns_names = {""}; }), kInvalidArgument);
  EXPECT_CODE(issue([](CertificateRequest& r) { r.ip_addresses = {"300.1.1.1"}; }),
              kInvalidArgument);
  EXPECT_CODE(issue([](CertificateRequest& r) { r.ip_addresses = {"node7.local"}; }),
              kInvalidArgument);
  EXPECT_CODE(issue([](CertificateRequest& r) { r.validity_days = 0; }), kInvalidArgument);
  EXPECT_CODE(issue([](CertificateRequest& r) { r.validity_days = 40000; }), kInvalidArgument);
  EXPECT_OK(issue([](CertificateRequest&) {}));
}

}  // namespace
}  // namespace vellum::crypto
