// Copyright (c) Vellum authors.

#include "crypto/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <climits>

namespace vellum::crypto {

std::string DrainOpenSslErrors() {
  std::string out;
  // Bounded by the queue's depth (OpenSSL keeps at most ERR_NUM_ERRORS entries).
  while (const unsigned long e = ERR_get_error()) {  // NOLINT(runtime/int): OpenSSL's type
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
  }
  return out.empty() ? std::string("no OpenSSL error reported") : out;
}

Status OpenSslFailure(StatusCode code, std::string_view what) {
  return Status(code, std::string(what) + ": " + DrainOpenSslErrors());
}

int NoPassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

Result<BioPtr> ReadBio(ByteView data, std::string_view what) {
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return Status::InvalidArgument(std::string(what) + " is too large");
  }
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (bio == nullptr) return OpenSslFailure(StatusCode::kIOError, "BIO_new_mem_buf");
  return bio;
}

Status AddTrustedCertificates(SSL_CTX* ctx, std::string_view pem, std::string_view what,
                              AdvertiseCas advertise) {
  ERR_clear_error();  // a stale error would be quoted as this one's reason
  VELLUM_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(AsBytes(pem), what));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, &NoPassword, nullptr)) {
    X509Ptr ca(raw);
    if (X509_STORE_add_cert(store, ca.get()) != 1 ||
        (advertise == AdvertiseCas::kYes && SSL_CTX_add_client_CA(ctx, ca.get()) != 1)) {
      return OpenSslFailure(StatusCode::kInvalidArgument,
                            "adding a certificate of " + std::string(what));
    }
    ++count;
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (count == 0) return Status::InvalidArgument(std::string(what) + " holds no PEM certificate");
  return Status::OK();
}

Status UseCertificateAndKey(SSL_CTX* ctx, std::string_view certificate_pem,
                            const SecureBytes& key_pem) {
  ERR_clear_error();  // a stale error would be quoted as this one's reason
  VELLUM_ASSIGN_OR_RETURN(BioPtr cert_bio, ReadBio(AsBytes(certificate_pem), "certificate_pem"));
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, &NoPassword, nullptr));
  if (cert == nullptr) {
    return OpenSslFailure(StatusCode::kInvalidArgument, "certificate_pem is not a certificate");
  }
  if (SSL_CTX_use_certificate(ctx, cert.get()) != 1) {
    // About the certificate alone (a key too small for the security level, say).
    return OpenSslFailure(StatusCode::kInvalidArgument, "loading certificate_pem");
  }
  VELLUM_ASSIGN_OR_RETURN(BioPtr key_bio, ReadBio(key_pem.view(), "private_key_pem"));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, &NoPassword, nullptr));
  if (key == nullptr) {
    ERR_clear_error();  // never quote anything about the key
    return Status::InvalidArgument("private_key_pem is not an unencrypted PEM private key");
  }
  // OpenSSL 3 refuses a key that does not match the certificate in
  // SSL_CTX_use_PrivateKey already; the check covers the key landing in another slot.
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("private_key_pem does not match certificate_pem");
  }
  return Status::OK();
}

}  // namespace vellum::crypto
