# Compiler settings shared by every Vellum target. Warnings are PRIVATE to our own
# targets (they never leak to code that links libvellum); sanitizers apply globally
# so that every object in a sanitized binary is instrumented the same way.

set(VELLUM_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
if(VELLUM_WERROR)
  list(APPEND VELLUM_WARNING_FLAGS -Werror)
endif()

if(VELLUM_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(VELLUM_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT VELLUM_SANITIZE STREQUAL "")
  message(FATAL_ERROR "VELLUM_SANITIZE must be empty, 'address' or 'thread', got '${VELLUM_SANITIZE}'")
endif()

# vellum_module(NAME SOURCES...) defines the library target vellum_NAME with the
# alias vellum::NAME, our warning flags, and the include roots.
function(vellum_module name)
  add_library(vellum_${name} STATIC ${ARGN})
  add_library(vellum::${name} ALIAS vellum_${name})
  target_include_directories(vellum_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR})
  target_compile_options(vellum_${name} PRIVATE ${VELLUM_WARNING_FLAGS})
  if(VELLUM_BUILD_FUZZ)
    # Coverage instrumentation for everything a fuzz target links.
    target_compile_options(vellum_${name} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()

# vellum_executable(NAME SOURCES...) defines an executable with our warning flags.
function(vellum_executable name)
  add_executable(${name} ${ARGN})
  target_compile_options(${name} PRIVATE ${VELLUM_WARNING_FLAGS})
endfunction()

# The programs allocate through jemalloc when it is there (Debian: libjemalloc-dev):
# the trie and the ledger allocate many small short-lived nodes and strings, and
# glibc's malloc cost about a quarter of a batch update's CPU (docs/PERFORMANCE.md).
# Never with sanitizers or fuzzing (they bring their own allocator). The library
# itself does not link it: a program that embeds Vellum chooses its own allocator.
set(VELLUM_JEMALLOC_LIBRARY "")
if(VELLUM_JEMALLOC AND VELLUM_SANITIZE STREQUAL "" AND NOT VELLUM_BUILD_FUZZ)
  find_library(VELLUM_JEMALLOC_FOUND NAMES jemalloc)
  if(VELLUM_JEMALLOC_FOUND)
    set(VELLUM_JEMALLOC_LIBRARY ${VELLUM_JEMALLOC_FOUND})
    message(STATUS "Programs use jemalloc: ${VELLUM_JEMALLOC_FOUND}")
  else()
    message(STATUS "jemalloc not found: programs use the C library's malloc "
                   "(scripts/install-deps.sh installs libjemalloc-dev)")
  endif()
endif()

# vellum_program(NAME SOURCES...): a program we ship (vellum_executable, with jemalloc).
function(vellum_program name)
  vellum_executable(${name} ${ARGN})
  if(VELLUM_JEMALLOC_LIBRARY)
    target_link_libraries(${name} PRIVATE ${VELLUM_JEMALLOC_LIBRARY})
    target_compile_definitions(${name} PRIVATE VELLUM_WITH_JEMALLOC)
  endif()
endfunction()
