// `make demo` stays true: the quick-start command runs end to end (broker, collector, two agents,
// simulated shoppers and web traffic) and reports every accepted event stored exactly once, and
// identity resolution found people in the traffic.
#include <catch2/catch.hpp>

#include "tests/support/pipeline_env.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::test {

TEST_CASE("aislectl demo runs the whole store end to end and exits 0", "[integration][demo]") {
  TempDir dir("aisle-demo-test");
  const std::string ctl = std::string(AISLE_BINARY_DIR) + "/aislectl";
  const CommandResult demo =
      run_command({ctl, "demo", "--dir", dir.file("demo"), "--seconds", "8", "--bin-dir",
                   std::string(AISLE_BINARY_DIR)},
                  std::chrono::minutes(3));
  INFO(demo.output.substr(demo.output.size() > 6000 ? demo.output.size() - 6000 : 0));
  REQUIRE(demo.exit_code == 0);
  CHECK(demo.output.find("every accepted event arrived exactly once") != std::string::npos);
  CHECK(demo.output.find("== profiles: ") != std::string::npos);
  CHECK(demo.output.find(" is profile ") != std::string::npos);
}

}  // namespace aisle::test
