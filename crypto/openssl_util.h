// Copyright (c) Vellum authors.
//
// Shared plumbing for code that calls OpenSSL directly (crypto/, the peer transport,
// the client API server and client): unique_ptr owners for OpenSSL handles, the
// thread's error queue turned into a Status message, a password callback that refuses,
// a memory BIO over caller bytes, and the loading of PEM credentials into a TLS
// context, so that every TLS endpoint trusts and presents them the same way. An
// internal header: it exposes OpenSSL types, so only targets that link OpenSSL
// themselves include it; public crypto headers never do.
//
// Thread safety: the functions use only this thread's OpenSSL error queue.

#ifndef VELLUM_CRYPTO_OPENSSL_UTIL_H_
#define VELLUM_CRYPTO_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/types.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "crypto/secure_bytes.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::crypto {

// Frees an OpenSSL object with its own free function.
template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
template <typename T, auto Free>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<Free>>;

using X509Ptr = OpenSslPtr<X509, &X509_free>;
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, &EVP_PKEY_free>;
using BioPtr = OpenSslPtr<BIO, &BIO_free_all>;
using X509StoreCtxPtr = OpenSslPtr<X509_STORE_CTX, &X509_STORE_CTX_free>;

// Empties this thread's OpenSSL error queue into one line ("no OpenSSL error
// reported" when it was empty). OpenSSL's messages name the library and the reason,
// never the data being processed.
std::string DrainOpenSslErrors();
// `what`: the drained errors, as a Status of `code`.
Status OpenSslFailure(StatusCode code, std::string_view what);
// A pem_password_cb that refuses: an encrypted PEM key fails instead of prompting.
int NoPassword(char* buf, int size, int rwflag, void* userdata);
// A read-only memory BIO over `data` (not copied: `data` must outlive it).
// InvalidArgument naming `what` when it is too large for OpenSSL.
Result<BioPtr> ReadBio(ByteView data, std::string_view what = "PEM");

// Whether a TLS server also names its trusted CAs in the certificate request, so that a
// client holding several certificates can pick one the server accepts.
enum class AdvertiseCas : bool { kNo, kYes };

// Adds every certificate in `pem` (one or more PEM blocks) to the trust store of `ctx`,
// and with AdvertiseCas::kYes to its list of client CA names. InvalidArgument naming
// `what` (the input, e.g. "ca_certificate_pem") when `pem` holds no certificate or one
// is refused. Leaves this thread's error queue empty.
Status AddTrustedCertificates(SSL_CTX* ctx, std::string_view pem, std::string_view what,
                              AdvertiseCas advertise = AdvertiseCas::kNo);

// Makes `certificate_pem` and the unencrypted PEM private key `key_pem` the identity
// that `ctx` presents, after checking that they belong together. InvalidArgument naming
// the inputs as "certificate_pem" and "private_key_pem" (the option names of every TLS
// endpoint) otherwise; nothing about the key is quoted, not even OpenSSL's reasons.
// Leaves this thread's error queue empty. The certificate is then
// SSL_CTX_get0_certificate(ctx).
Status UseCertificateAndKey(SSL_CTX* ctx, std::string_view certificate_pem,
                            const SecureBytes& key_pem);

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_OPENSSL_UTIL_H_
