# Every dependency comes from a Debian 12 package (scripts/install-deps.sh installs
# them all). Targets link them PRIVATE; no dependency type appears in include/vellum/.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
# RocksDB: the shared library, so its own dependencies (snappy, lz4, zstd, ...) come
# along without being named here.
find_package(RocksDB REQUIRED CONFIG)
# nlohmann-json (header-only) parses and prints the JSON of the CLI and the test
# vectors; hand-written JSON parsing would be a liability.
find_package(nlohmann_json 3.10 REQUIRED CONFIG)
# Boost, header-only: Asio (kept-up async TCP/TLS, not hand-rolled epoll/BIO code); Beast for HTTP.
find_package(Boost 1.74 REQUIRED)
# yaml-cpp reads vellum-node's config file (and, later, workflow intents).
find_package(yaml-cpp REQUIRED CONFIG)

if(VELLUM_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
# gflags: vellum-node's command-line overrides of its config file, and vellum-bench.
find_package(gflags REQUIRED)
