// The one Catch2 main every test executable links (compiled once: Catch2 v2's single header is
// expensive to build).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
