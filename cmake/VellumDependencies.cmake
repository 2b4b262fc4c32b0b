# Every dependency comes from a Debian 12 package (scripts/install-deps.sh installs
# them all). Targets link them PRIVATE; no dependency type appears in include/vellum/.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)

if(VELLUM_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(VELLUM_BUILD_BENCH)
  find_package(gflags REQUIRED)
endif()
