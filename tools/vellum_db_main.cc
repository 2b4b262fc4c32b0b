// Copyright (c) Vellum authors.
//
// vellum-db: the Vellum command-line tool. Everything lives in vellum::tools (cli.h).

#include <iostream>

#include "tools/cli.h"

int main(int argc, char** argv) {
  return vellum::tools::RunVellumDb(argc, argv, std::cin, std::cout, std::cerr);
}
