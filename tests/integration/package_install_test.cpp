// Installing the Debian packages on this machine (issue 8, "A test installs both packages"):
// cpack builds aisle-common, aisle-agent and aisle-collector from this build; `dpkg -i` installs
// them; the files, the system user and the permissions are checked; the installed binaries run
// as the aisle user with the installed example configs; `dpkg --purge` removes them, their
// configuration and their state.
//
// This changes the machine (/usr/bin, /etc/aisle, /var/lib/aisle-*), so it runs only as root
// with dpkg present and no Aisle package installed, and otherwise says loudly why it did not.
// A guard purges the packages (and removes what the packages would leave that was not there
// before: the aisle user) however the test ends.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "tests/support/pipeline_env.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

const std::string kVersion = AISLE_VERSION;
const std::vector<std::string> kPackages = {"aisle-agent", "aisle-collector", "aisle-common"};

std::string build_dir() { return fs::path(AISLE_BINARY_DIR).parent_path().string(); }

CommandResult sh(const std::string& command, seconds timeout = seconds(120)) {
  return run_command({"/bin/sh", "-c", command}, timeout);
}

bool package_installed(const std::string& package) {
  return sh("dpkg-query -W -f='${Status}' " + package + " 2>/dev/null | grep -q 'ok installed'")
             .exit_code == 0;
}

// Why this machine cannot run the test ("" when it can).
std::string skip_reason() {
  if (geteuid() != 0) return "not running as root";
  if (!fs::exists("/usr/bin/dpkg") || !fs::exists("/usr/bin/dpkg-deb")) return "no dpkg";
  if (!fs::exists("/usr/sbin/runuser")) return "no runuser";
  for (const auto& package : kPackages) {
    if (package_installed(package)) return package + " is installed: not touching it";
  }
  for (const char* path : {"/etc/aisle", "/var/lib/aisle-agent", "/var/lib/aisle-collector"}) {
    if (fs::exists(path)) return std::string(path) + " exists: not touching it";
  }
  return "";
}

struct Owner {
  std::string user;
  std::string group;
  unsigned mode = 0;
};

Owner owner_of(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {};
  const passwd* pw = getpwuid(st.st_uid);
  const group* gr = getgrgid(st.st_gid);
  return Owner{pw ? pw->pw_name : std::to_string(st.st_uid),
               gr ? gr->gr_name : std::to_string(st.st_gid), st.st_mode & 07777u};
}

// Leaves the machine as the test found it, also when an assertion failed: purge the packages
// (whatever dpkg thinks their state is), then remove what purge keeps by policy — the aisle
// user and group — when they did not exist before.
class InstallGuard {
 public:
  InstallGuard() : had_user_(getpwnam("aisle") != nullptr), had_group_(getgrnam("aisle") != nullptr) {}
  ~InstallGuard() {
    const CommandResult purge =
        sh("dpkg --purge aisle-agent aisle-collector aisle-common 2>&1");
    if (purge.exit_code != 0) {
      std::cerr << "package_install_test: dpkg --purge failed (" << purge.exit_code
                << "):\n" << purge.output;
    }
    if (!had_user_ && getpwnam("aisle")) (void)sh("userdel aisle 2>&1");
    if (!had_group_ && getgrnam("aisle")) (void)sh("groupdel aisle 2>&1");
    std::error_code ec;
    for (const char* path : {"/var/lib/aisle-agent", "/var/lib/aisle-collector", "/etc/aisle"}) {
      fs::remove_all(path, ec);  // only reached for paths that did not exist before (skip_reason)
    }
  }

 private:
  bool had_user_;
  bool had_group_;
};

}  // namespace

TEST_CASE("dpkg installs the packages, their binaries run as the aisle user with the installed "
          "configs, and purge removes config and state",
          "[integration][packaging][dpkg]") {
  const std::string reason = skip_reason();
  if (!reason.empty()) {
    std::cerr << "\n*** WARNING: package_install_test SKIPPED: " << reason
              << " (the dpkg -i / --purge check did not run) ***\n\n";
    WARN("dpkg install test skipped: " << reason);
    return;
  }
  // Release artifacts given in $AISLE_PACKAGES_DIR are installed as they are; otherwise cpack
  // packs this build (its preinstall step builds `all` unless the tree was configured with
  // CMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON).
  TempDir out("aisle-dpkg");
  const char* given = std::getenv("AISLE_PACKAGES_DIR");
  const std::string packages_dir = given && *given ? given : out.path().string();
  if (!given || !*given) {
    const CommandResult cpack = sh("cd '" + build_dir() + "' && cpack -G DEB -B '" +
                                       packages_dir + "'",
                                   seconds(1800));
    INFO(cpack.output);
    REQUIRE(cpack.exit_code == 0);
  }
  std::string debs;
  for (const auto& package : kPackages) {
    const std::string deb = packages_dir + "/" + package + "_" + kVersion + "_amd64.deb";
    REQUIRE(fs::exists(deb));
    debs += " '" + deb + "'";
  }

  InstallGuard guard;
  const CommandResult install = sh("dpkg -i" + debs + " 2>&1");
  INFO(install.output);
  REQUIRE(install.exit_code == 0);
  for (const auto& package : kPackages) {
    INFO(package);
    CHECK(package_installed(package));
  }

  // Files.
  for (const char* path :
       {"/usr/bin/aisle-agent", "/usr/bin/aisle-collector", "/usr/bin/aislectl",
        "/usr/lib/systemd/system/aisle-agent.service",
        "/usr/lib/systemd/system/aisle-collector.service", "/etc/aisle/agent.json.example",
        "/etc/aisle/collector.json.example", "/etc/aisle/schemas.d",
        "/usr/share/aisle/schemas/aisle/purchase/jsonschema/1-0-0.json",
        "/usr/share/aisle/mosquitto/aisle-broker.conf",
        "/usr/share/doc/aisle-agent/operations.md"}) {
    INFO(path);
    CHECK(fs::exists(path));
  }
  // The system user: no login, no home.
  const passwd* aisle = getpwnam("aisle");
  REQUIRE(aisle != nullptr);
  CHECK(aisle->pw_uid < 1000);
  CHECK(std::string(aisle->pw_shell) == "/usr/sbin/nologin");
  CHECK(std::string(aisle->pw_dir) == "/nonexistent");
  REQUIRE(getgrnam("aisle") != nullptr);
  // Configuration is root's (the daemons only read it); state is the daemons' alone.
  for (const char* path : {"/etc/aisle", "/etc/aisle/schemas.d"}) {
    INFO(path);
    const Owner o = owner_of(path);
    CHECK(o.user == "root");
    CHECK((o.mode & 0022u) == 0u);  // not writable by group or others
  }
  for (const char* path : {"/etc/aisle/agent.json.example", "/etc/aisle/collector.json.example"}) {
    INFO(path);
    const Owner o = owner_of(path);
    CHECK(o.user == "root");
    CHECK(o.mode == 0644u);
  }
  for (const char* path : {"/var/lib/aisle-agent", "/var/lib/aisle-collector"}) {
    INFO(path);
    const Owner o = owner_of(path);
    CHECK(o.user == "aisle");
    CHECK(o.group == "aisle");
    CHECK(o.mode == 0750u);
  }
  CHECK((owner_of("/usr/bin/aisle-agent").mode & 0755u) == 0755u);

  // The installed binaries, as the service runs them: the aisle user, the installed files.
  // The agent's example names the tenant's pseudonymization key: refused until it exists
  // (exit 78 naming it), then created as the example's comment says, readable by the service.
  const std::string key_file = "/etc/aisle/pseudonymization.key";
  {
    const CommandResult no_key = sh("cd / && runuser -u aisle -- /usr/bin/aisle-agent --config "
                                    "/etc/aisle/agent.json.example --check-config 2>&1");
    INFO(no_key.output);
    CHECK(no_key.exit_code == 78);
    CHECK(no_key.output.find(key_file) != std::string::npos);
    REQUIRE(sh("umask 077 && openssl rand -hex 32 > " + key_file + " && chgrp aisle " + key_file +
               " && chmod 0440 " + key_file)
                .exit_code == 0);
  }
  for (const std::string daemon : {"aisle-agent", "aisle-collector"}) {
    INFO(daemon);
    const std::string as_aisle = "cd / && runuser -u aisle -- /usr/bin/" + daemon;
    const CommandResult help = sh(as_aisle + " --help 2>&1");
    CHECK(help.exit_code == 0);
    CHECK(help.output.find("--check-config") != std::string::npos);
    const CommandResult version = sh(as_aisle + " --version 2>&1");
    CHECK(version.exit_code == 0);
    CHECK(version.output == daemon + " " + kVersion + "\n");
    const std::string config = "/etc/aisle/" + daemon.substr(6) + ".json.example";
    const CommandResult check = sh(as_aisle + " --config " + config + " --check-config 2>&1");
    INFO(check.output);
    CHECK(check.exit_code == 0);
    CHECK(check.output == config + ": ok\n");
    // A configuration error is exit 78, which the unit does not restart on.
    const CommandResult missing = sh(as_aisle + " --config /etc/aisle/none.json --check-config");
    CHECK(missing.exit_code == 78);
  }
  const CommandResult ctl = sh("cd / && runuser -u aisle -- /usr/bin/aislectl pki --help 2>&1");
  CHECK(ctl.exit_code == 0);
  // The aisle user cannot write configuration.
  CHECK(sh("runuser -u aisle -- /bin/sh -c 'touch /etc/aisle/x' 2>&1").exit_code != 0);
  // Some state, as a running daemon would leave it.
  CHECK(sh("runuser -u aisle -- /bin/sh -c 'echo x > /var/lib/aisle-agent/outbox.db'")
            .exit_code == 0);

  // Purge: binaries, configuration and state are gone (the operator's key file first: dpkg
  // removes only what the packages installed, and a directory only when it is empty).
  fs::remove(key_file);
  const CommandResult purge = sh("dpkg --purge aisle-agent aisle-collector aisle-common 2>&1");
  INFO(purge.output);
  REQUIRE(purge.exit_code == 0);
  for (const auto& package : kPackages) {
    INFO(package);
    CHECK_FALSE(package_installed(package));
  }
  for (const char* path :
       {"/usr/bin/aisle-agent", "/usr/bin/aisle-collector", "/usr/bin/aislectl",
        "/usr/lib/systemd/system/aisle-agent.service", "/etc/aisle", "/var/lib/aisle-agent",
        "/var/lib/aisle-collector", "/usr/share/aisle"}) {
    INFO(path);
    CHECK_FALSE(fs::exists(path));
  }
}

}  // namespace aisle::test
