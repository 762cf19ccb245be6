// The Debian packages and systemd units (packaging/, docs/operations.md): `cpack` builds
// aisle-common, aisle-agent and aisle-collector from this build; each holds what it should, with
// conffiles, maintainer scripts that parse, and dependencies found by dpkg-shlibdeps; the units
// pass `systemd-analyze verify` and keep an exposure score of at most 2.0 ("OK") in
// `systemd-analyze security`. Installing them (dpkg -i / --purge) touches the whole machine: that
// is package_install_test.cpp, guarded to run only as root on a machine without Aisle installed.
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "tests/support/pipeline_env.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

const std::string kVersion = AISLE_VERSION;

std::string build_dir() { return fs::path(AISLE_BINARY_DIR).parent_path().string(); }
std::string source_dir() { return fs::path(AISLE_TEST_DATA_DIR).parent_path().parent_path().string(); }

CommandResult sh(const std::string& command, seconds timeout = seconds(60)) {
  return run_command({"/bin/sh", "-c", command}, timeout);
}

}  // namespace

TEST_CASE("cpack builds the three Debian packages with their files, conffiles and scripts",
          "[integration][packaging]") {
  TempDir out("aisle-packages");
  const CommandResult cpack =
      sh("cd '" + build_dir() + "' && cpack -G DEB -B '" + out.path().string() + "'", seconds(300));
  INFO(cpack.output);
  REQUIRE(cpack.exit_code == 0);

  struct Expected {
    std::string package;
    std::vector<std::string> files;
    std::string conffile;  // "" = none
  };
  const std::vector<Expected> packages = {
      {"aisle-common", {"./usr/bin/aislectl", "./usr/share/aisle/schemas/aisle/purchase/jsonschema/1-0-0.json", "./etc/aisle/schemas.d/"}, ""},
      {"aisle-agent", {"./usr/bin/aisle-agent", "./usr/lib/systemd/system/aisle-agent.service", "./etc/aisle/agent.json.example"}, "/etc/aisle/agent.json.example"},
      {"aisle-collector", {"./usr/bin/aisle-collector", "./usr/lib/systemd/system/aisle-collector.service", "./etc/aisle/collector.json.example"}, "/etc/aisle/collector.json.example"},
  };
  for (const auto& expected : packages) {
    const std::string deb =
        out.file(expected.package + "_" + kVersion + "_amd64.deb");
    INFO(deb);
    REQUIRE(fs::exists(deb));
    const CommandResult name = sh("dpkg-deb -f '" + deb + "' Package");
    CHECK(name.output == expected.package + "\n");
    const CommandResult contents = sh("dpkg-deb -c '" + deb + "'");
    REQUIRE(contents.exit_code == 0);
    for (const auto& file : expected.files) {
      INFO(file);
      CHECK(contents.output.find(file) != std::string::npos);
    }
    // Binaries are stripped (the build is RelWithDebInfo): a package stays a few MB.
    CHECK(fs::file_size(deb) < 8u * 1024 * 1024);
    if (expected.conffile.empty()) continue;
    const CommandResult depends = sh("dpkg-deb -f '" + deb + "' Depends");
    CHECK(depends.output.find("aisle-common (= " + kVersion + ")") != std::string::npos);
    CHECK(depends.output.find("libsqlite3") != std::string::npos);  // from dpkg-shlibdeps
    const CommandResult conffiles = sh("dpkg-deb --ctrl-tarfile '" + deb + "' | tar -xO ./conffiles");
    CHECK(conffiles.output == expected.conffile + "\n");
    for (const char* script : {"postinst", "prerm", "postrm"}) {
      INFO(script);
      const CommandResult syntax = sh("dpkg-deb --ctrl-tarfile '" + deb + "' | tar -xO ./" +
                                      std::string(script) + " | sh -n");
      CHECK(syntax.exit_code == 0);
    }
  }
}

TEST_CASE("the systemd units verify and keep a low exposure score", "[integration][packaging]") {
  TempDir dir("aisle-units");
  for (const std::string daemon : {"aisle-agent", "aisle-collector"}) {
    INFO(daemon);
    // The unit as shipped, pointing at this build's binary (verify checks that it exists).
    const std::string unit = dir.file(daemon + ".service");
    std::string text = read_file(source_dir() + "/packaging/systemd/" + daemon + ".service");
    text = std::regex_replace(text, std::regex("/usr/bin/" + daemon),
                              std::string(AISLE_BINARY_DIR) + "/" + daemon);
    write_file(unit, text);
    const CommandResult verify = sh("cd '" + dir.path().string() + "' && systemd-analyze verify ./" +
                                    daemon + ".service");
    INFO(verify.output);
    CHECK(verify.exit_code == 0);
    const CommandResult security = sh("cd '" + dir.path().string() +
                                      "' && systemd-analyze security --offline=true ./" + daemon +
                                      ".service");
    INFO(security.output);
    std::smatch score;
    const std::string& output = security.output;
    REQUIRE(std::regex_search(output, score, std::regex("Overall exposure level for [^:]+: ([0-9.]+)")));
    CHECK(std::stod(score[1].str()) <= 2.0);
    CHECK(text.find("Type=notify") != std::string::npos);
    CHECK(text.find("WatchdogSec=") != std::string::npos);
    CHECK(text.find("CapabilityBoundingSet=\n") != std::string::npos);
  }
}

}  // namespace aisle::test
