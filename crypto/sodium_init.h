// Copyright (c) Vellum authors.
//
// libsodium must be initialised once before use; every crypto entry point that
// touches libsodium calls EnsureSodium() first (cheap after the first call).

#ifndef VELLUM_CRYPTO_SODIUM_INIT_H_
#define VELLUM_CRYPTO_SODIUM_INIT_H_

namespace vellum::crypto {

void EnsureSodium();

}  // namespace vellum::crypto

#endif  // VELLUM_CRYPTO_SODIUM_INIT_H_
