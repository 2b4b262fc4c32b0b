// Copyright (c) Vellum authors.
//
// X.509 issuance through OpenSSL 3 (see x509.h). Every OpenSSL handle is owned by a
// unique_ptr; every failure turns the OpenSSL error queue into the Status message
// (library and reason strings only, never the data being parsed).
//
// Thread safety: no shared state; OpenSSL's error queue is per thread.

#include "crypto/x509.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "crypto/openssl_util.h"
#include "vellum/check.h"

namespace vellum::crypto {
namespace {

constexpr size_t kMaxCommonNameBytes = 64;  // ub_common_name (RFC 5280, appendix A.1)
constexpr size_t kMaxDnsNameBytes = 253;
constexpr size_t kSerialBytes = 16;
constexpr int kMaxValidityDays = 36500;
constexpr long kBackdateSeconds = 3600;  // NOLINT(runtime/int): OpenSSL's type

using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<&BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<&ASN1_INTEGER_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<&X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<&GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpenSslDeleter<&GENERAL_NAME_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, OpenSslDeleter<&ASN1_STRING_free>>;

Result<X509Ptr> ParseCertificate(std::string_view pem, std::string_view what) {
  ERR_clear_error();
  VELLUM_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(AsBytes(pem), what));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, &NoPassword, nullptr));
  if (cert == nullptr) {
    return OpenSslFailure(StatusCode::kInvalidArgument,
                          std::string(what) + " is not a PEM certificate");
  }
  return cert;
}

Result<EvpPkeyPtr> ParsePrivateKey(const SecureBytes& pem, std::string_view what) {
  ERR_clear_error();
  VELLUM_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(pem.view(), what));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassword, nullptr));
  if (key == nullptr) {
    return OpenSslFailure(StatusCode::kInvalidArgument,
                          std::string(what) + " is not an unencrypted PEM private key");
  }
  return key;
}

Result<std::string> CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "writing the certificate as PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  VELLUM_CHECK(size > 0 && data != nullptr);
  return std::string(data, static_cast<size_t>(size));
}

// PKCS#8 PEM through a secure-heap BIO (OpenSSL wipes its buffers when freed), copied
// straight into guarded memory.
Result<SecureBytes> PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "writing the private key as PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  VELLUM_CHECK(size > 0 && data != nullptr);
  return SecureBytes::CopyFrom(
      ByteView(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(size)));
}

Result<EvpPkeyPtr> GenerateP256Key() {
  ERR_clear_error();
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return OpenSslFailure(StatusCode::kIOError, "generating a P-256 key");
  return key;
}

Status CheckCommonName(std::string_view common_name) {
  if (common_name.empty() || common_name.size() > kMaxCommonNameBytes) {
    return Status::InvalidArgument("certificate common name must be 1 to " +
                                   std::to_string(kMaxCommonNameBytes) + " bytes, got " +
                                   std::to_string(common_name.size()));
  }
  if (common_name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("certificate common name contains a NUL byte");
  }
  return Status::OK();
}

Status CheckValidity(int validity_days) {
  if (validity_days < 1 || validity_days > kMaxValidityDays) {
    return Status::InvalidArgument("certificate validity must be 1 to " +
                                   std::to_string(kMaxValidityDays) + " days, got " +
                                   std::to_string(validity_days));
  }
  return Status::OK();
}

// A new v3 certificate for `public_key` with subject CN=`common_name`, a random
// positive 128-bit serial number and the validity period; issuer and extensions are
// the caller's.
Result<X509Ptr> NewCertificate(std::string_view common_name, int validity_days,
                               EVP_PKEY* public_key, RandomSource& random) {
  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslFailure(StatusCode::kIOError, "X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "X509_set_version");
  }

  // 16 random bytes with the top bit clear (positive) and the next set (non-zero, and
  // a minimal 16-byte DER encoding).
  std::array<uint8_t, kSerialBytes> serial_bytes{};
  random.Fill(serial_bytes);
  serial_bytes[0] = static_cast<uint8_t>((serial_bytes[0] & 0x7f) | 0x40);
  BignumPtr serial_bn(BN_bin2bn(serial_bytes.data(), serial_bytes.size(), nullptr));
  if (serial_bn == nullptr) return OpenSslFailure(StatusCode::kIOError, "BN_bin2bn");
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(serial_bn.get(), nullptr));
  if (serial == nullptr || X509_set_serialNumber(cert.get(), serial.get()) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "setting the serial number");
  }

  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), validity_days, 0, nullptr) == nullptr) {
    return OpenSslFailure(StatusCode::kIOError, "setting the validity period");
  }

  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    return OpenSslFailure(StatusCode::kInvalidArgument,
                          "certificate common name is not valid UTF-8");
  }
  if (X509_set_pubkey(cert.get(), public_key) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "X509_set_pubkey");
  }
  return cert;
}

// Adds an extension given in OpenSSL's configuration syntax. Only fixed strings of
// this file are passed here, never caller input.
Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslFailure(StatusCode::kIOError,
                          std::string("adding the ") + OBJ_nid2sn(nid) + " extension");
  }
  return Status::OK();
}

Status CheckDnsName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDnsNameBytes) {
    return Status::InvalidArgument("subjectAltName DNS name must be 1 to " +
                                   std::to_string(kMaxDnsNameBytes) + " bytes, got " +
                                   std::to_string(name.size()));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '*';
    if (!ok) {
      return Status::InvalidArgument("subjectAltName DNS name \"" + std::string(name) +
                                     "\" has a character outside [A-Za-z0-9.*-] at position " +
                                     std::to_string(i));
    }
  }
  return Status::OK();
}

Status AddSubjectAltNames(X509* cert, const CertificateRequest& request) {
  if (request.dns_names.empty() && request.ip_addresses.empty()) return Status::OK();
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (names == nullptr) return OpenSslFailure(StatusCode::kIOError, "sk_GENERAL_NAME_new_null");
  for (const std::string& dns : request.dns_names) {
    VELLUM_RETURN_IF_ERROR(CheckDnsName(dns));
    Asn1StringPtr ia5(ASN1_IA5STRING_new());
    GeneralNamePtr name(GENERAL_NAME_new());
    if (ia5 == nullptr || name == nullptr ||
        ASN1_STRING_set(ia5.get(), dns.data(), static_cast<int>(dns.size())) != 1) {
      return OpenSslFailure(StatusCode::kIOError, "building a DNS subjectAltName");
    }
    GENERAL_NAME_set0_value(name.get(), GEN_DNS, ia5.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) {
      return OpenSslFailure(StatusCode::kIOError, "sk_GENERAL_NAME_push");
    }
    name.release();  // owned by `names` now
  }
  for (const std::string& ip : request.ip_addresses) {
    if (ip.find('\0') != std::string::npos) {
      return Status::InvalidArgument("subjectAltName IP address contains a NUL byte");
    }
    ERR_clear_error();
    Asn1StringPtr octets(a2i_IPADDRESS(ip.c_str()));
    if (octets == nullptr) {
      ERR_clear_error();
      return Status::InvalidArgument("subjectAltName IP address \"" + ip +
                                     "\" is not an IPv4 or IPv6 address");
    }
    GeneralNamePtr name(GENERAL_NAME_new());
    if (name == nullptr) return OpenSslFailure(StatusCode::kIOError, "GENERAL_NAME_new");
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, octets.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) {
      return OpenSslFailure(StatusCode::kIOError, "sk_GENERAL_NAME_push");
    }
    name.release();
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "adding the subjectAltName extension");
  }
  return Status::OK();
}

const char* ExtendedKeyUsage(CertificateUsage usage) {
  switch (usage) {
    case CertificateUsage::kServer:
      return "serverAuth";
    case CertificateUsage::kClient:
      return "clientAuth";
    case CertificateUsage::kServerAndClient:
      return "serverAuth,clientAuth";
  }
  VELLUM_UNREACHABLE();
}

Status Sign(X509* cert, EVP_PKEY* key, std::string_view what) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) {
    return OpenSslFailure(
        StatusCode::kInvalidArgument,
        std::string("signing the ") + std::string(what) + " (is the key ECDSA or RSA?)");
  }
  return Status::OK();
}

Result<CertifiedKey> Finish(X509* cert, EVP_PKEY* key) {
  CertifiedKey out;
  VELLUM_ASSIGN_OR_RETURN(out.certificate_pem, CertificatePem(cert));
  VELLUM_ASSIGN_OR_RETURN(out.private_key_pem, PrivateKeyPem(key));
  return out;
}

Result<std::string> CommonNameOf(X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return Status::InvalidArgument("certificate subject has no common name");
  if (X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) {
    return Status::InvalidArgument("certificate subject has more than one common name");
  }
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, value);
  if (length < 0) {
    return OpenSslFailure(StatusCode::kInvalidArgument,
                          "certificate common name does not convert to UTF-8");
  }
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  if (name.find('\0') != std::string::npos) {
    return Status::InvalidArgument("certificate common name contains a NUL byte");
  }
  return name;
}

}  // namespace

Result<CertifiedKey> CreateCertificateAuthority(std::string_view common_name, int validity_days,
                                                RandomSource& random) {
  VELLUM_RETURN_IF_ERROR(CheckCommonName(common_name));
  VELLUM_RETURN_IF_ERROR(CheckValidity(validity_days));
  VELLUM_ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateP256Key());
  VELLUM_ASSIGN_OR_RETURN(X509Ptr cert,
                          NewCertificate(common_name, validity_days, key.get(), random));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "X509_set_issuer_name");
  }
  VELLUM_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  VELLUM_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  VELLUM_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  VELLUM_RETURN_IF_ERROR(Sign(cert.get(), key.get(), "CA certificate"));
  return Finish(cert.get(), key.get());
}

Result<CertifiedKey> IssueCertificate(const CertifiedKey& ca, const CertificateRequest& request,
                                      RandomSource& random) {
  VELLUM_RETURN_IF_ERROR(CheckCommonName(request.common_name));
  VELLUM_RETURN_IF_ERROR(CheckValidity(request.validity_days));
  VELLUM_ASSIGN_OR_RETURN(X509Ptr ca_cert, ParseCertificate(ca.certificate_pem, "CA certificate"));
  VELLUM_ASSIGN_OR_RETURN(EvpPkeyPtr ca_key, ParsePrivateKey(ca.private_key_pem, "CA private key"));
  if (X509_check_ca(ca_cert.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("issuer certificate is not a CA (basicConstraints CA:TRUE)");
  }
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("CA private key does not match the CA certificate");
  }

  VELLUM_ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateP256Key());
  VELLUM_ASSIGN_OR_RETURN(
      X509Ptr cert, NewCertificate(request.common_name, request.validity_days, key.get(), random));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "X509_set_issuer_name");
  }
  X509* const c = cert.get();
  X509* const issuer = ca_cert.get();
  VELLUM_RETURN_IF_ERROR(AddExtension(c, issuer, NID_basic_constraints, "critical,CA:FALSE"));
  VELLUM_RETURN_IF_ERROR(AddExtension(c, issuer, NID_key_usage, "critical,digitalSignature"));
  VELLUM_RETURN_IF_ERROR(
      AddExtension(c, issuer, NID_ext_key_usage, ExtendedKeyUsage(request.usage)));
  VELLUM_RETURN_IF_ERROR(AddSubjectAltNames(c, request));
  VELLUM_RETURN_IF_ERROR(AddExtension(c, issuer, NID_subject_key_identifier, "hash"));
  VELLUM_RETURN_IF_ERROR(AddExtension(c, issuer, NID_authority_key_identifier, "keyid:always"));
  VELLUM_RETURN_IF_ERROR(Sign(c, ca_key.get(), "certificate with the CA key"));
  return Finish(c, key.get());
}

Result<std::string> CertificateCommonName(std::string_view certificate_pem) {
  VELLUM_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(certificate_pem, "certificate"));
  return CommonNameOf(cert.get());
}

}  // namespace vellum::crypto
