// Copyright (c) Vellum authors.

#include "crypto/openssl_util.h"

#include <openssl/err.h>

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

}  // namespace vellum::crypto
