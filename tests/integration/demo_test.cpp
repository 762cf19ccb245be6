// `make demo` stays true: the quick-start command runs end to end (broker, collector, two agents
// with five device adapters each, the store simulator's devices, kiosks and web shop) and reports
// every accepted event stored exactly once, events at the collector from every source, and
// identity resolution merging the profiles of people seen on several channels, segments with
// members and kiosks served recommendations by their agent.
#include <catch2/catch.hpp>

#include <regex>

#include "tests/support/pipeline_env.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::test {

TEST_CASE("aislectl demo runs the whole store end to end and exits 0", "[integration][demo]") {
  TempDir dir("aisle-demo-test");
  const std::string ctl = std::string(AISLE_BINARY_DIR) + "/aislectl";
  const CommandResult demo =
      run_command({ctl, "demo", "--dir", dir.file("demo"), "--seconds", "30", "--bin-dir",
                   std::string(AISLE_BINARY_DIR)},
                  std::chrono::minutes(3));
  INFO(demo.output.substr(demo.output.size() > 6000 ? demo.output.size() - 6000 : 0));
  REQUIRE(demo.exit_code == 0);
  CHECK(demo.output.find("every accepted event arrived exactly once") != std::string::npos);
  CHECK(demo.output.find("== profiles: ") != std::string::npos);
  CHECK(demo.output.find(" is profile ") != std::string::npos);
  // Events of every source are stored at the collector.
  const auto by_source = demo.output.find("== events at the collector by source");
  REQUIRE(by_source != std::string::npos);
  const std::string sources = demo.output.substr(by_source, demo.output.find('\n', by_source) - by_source);
  for (const char* source : {"pos", "counter", "ble", "rfid", "weight", "kiosk", "web"}) {
    INFO(source);
    const std::regex count(std::string(" ") + source + "=([0-9]+)");
    std::smatch match;
    REQUIRE(std::regex_search(sources, match, count));
    CHECK(std::stoll(match[1]) > 0);
  }
  // At least one profile was merged (a loyalty receipt's profile joined a web login's).
  const std::regex merges("== profiles: [0-9.e+]+ shoppers from [0-9.e+]+ identifiers; ([0-9.e+]+) merges");
  std::smatch merge_match;
  REQUIRE(std::regex_search(demo.output, merge_match, merges));
  CHECK(std::stod(merge_match[1]) >= 1);
  // The collector's segments (the demo defines a few) have members.
  const std::regex segment_size(" ([a-z_]+)=([0-9]+)");
  const auto segments_at = demo.output.rfind("   segments:");
  REQUIRE(segments_at != std::string::npos);
  const std::string segments =
      demo.output.substr(segments_at, demo.output.find('\n', segments_at) - segments_at);
  INFO(segments);
  long long largest = 0;
  for (auto it = std::sregex_iterator(segments.begin(), segments.end(), segment_size);
       it != std::sregex_iterator(); ++it) {
    largest = std::max(largest, std::stoll((*it)[2]));
  }
  CHECK(largest > 0);
  // Kiosks got recommendations from their agent.
  const std::regex served("kiosk recommendations: served ([0-9]+), 404 ([0-9]+), failed ([0-9]+)");
  std::smatch served_match;
  REQUIRE(std::regex_search(demo.output, served_match, served));
  CHECK(std::stoll(served_match[1]) > 0);
  CHECK(std::stoll(served_match[2]) == 0);
  CHECK(std::stoll(served_match[3]) == 0);
}

}  // namespace aisle::test
