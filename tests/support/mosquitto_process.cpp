#include "tests/support/mosquitto_process.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "common/pki/pki.hpp"
#include "common/pki/revocation.hpp"
#include "common/process.hpp"

namespace aisle::test {
namespace {

constexpr std::chrono::milliseconds kReadyTimeout{10000};
constexpr std::chrono::milliseconds kStopGrace{5000};

std::string mosquitto_binary() {
#ifdef AISLE_MOSQUITTO
  return AISLE_MOSQUITTO;
#else
  const char* env = std::getenv("AISLE_MOSQUITTO");
  return env && *env ? env : "/usr/sbin/mosquitto";
#endif
}

std::string current_user() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : "";
}

void check(const Status& status, const std::string& what) {
  if (!status) throw std::runtime_error(what + ": " + status.error().message);
}

}  // namespace

MosquittoProcess::MosquittoProcess(MosquittoOptions options)
    : options_(std::move(options)),
      dir_(std::make_unique<TempDir>("aisle-mosquitto")),
      mosquitto_(mosquitto_binary()) {
  const std::string pki = pki_dir();
  check(pki::init_ca(pki, {options_.tenant, 30}), "test CA");
  pki::IssueOptions server;
  server.kind = pki::CertKind::kServer;
  server.name = "localhost";
  auto server_cert = pki::issue(pki, server);
  if (!server_cert) throw std::runtime_error("server certificate: " + server_cert.error().message);
  for (const auto& name : options_.collectors) (void)collector(name);
  for (const auto& a : options_.agents) (void)agent(a.store_id, a.agent_id);
  check(write_acl(), "ACL");

  auto port = find_free_port();
  if (!port) throw std::runtime_error(port.error().message);
  port_ = *port;
  const std::filesystem::path base = dir_->path();
  std::filesystem::create_directories(base / "data");
  pki::MosquittoOptions conf;
  conf.port = port_;
  conf.ca_file = ca_file();
  conf.cert_file = server_cert->cert_path;
  conf.key_file = server_cert->key_path;
  conf.acl_file = (base / "acl").string();
  conf.crl_file = pki::crl_path(pki);
  conf.persistence_dir = (base / "data").string();
  conf.autosave_interval_s = options_.autosave_interval_s;
  conf.log_file = log_file();
  conf.user = current_user();
  conf.verbose_log = options_.verbose_log;
  config_file_ = (base / "mosquitto.conf").string();
  write_file(config_file_, pki::render_mosquitto_conf(conf));
  check(start(), "mosquitto");
}

MosquittoProcess::~MosquittoProcess() {
  (void)terminate(pid_, kStopGrace);
}

Status MosquittoProcess::start() {
  if (running()) return ok_status();
  SpawnOptions spawn_options;
  spawn_options.argv = {mosquitto_, "-c", config_file_};
  spawn_options.log_file = log_file();
  auto pid = spawn(spawn_options);
  if (!pid) return pid.error();
  pid_ = *pid;
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (!tcp_accepts("127.0.0.1", port_, std::chrono::milliseconds(200))) {
    if (!is_running(pid_) || std::chrono::steady_clock::now() > deadline) {
      (void)terminate(pid_, kStopGrace);
      return make_error(ErrorCode::kUnavailable, "mosquitto did not come up on port " +
                                                     std::to_string(port_) + "; log:\n" +
                                                     tail_file(log_file(), 20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ok_status();
}

Status MosquittoProcess::stop() {
  return terminate(pid_, kStopGrace);
}
Status MosquittoProcess::kill9() {
  return aisle::kill9(pid_);
}
bool MosquittoProcess::running() const {
  return is_running(pid_);
}

std::string MosquittoProcess::uri() const {
  return "ssl://127.0.0.1:" + std::to_string(port_);
}
std::string MosquittoProcess::pki_dir() const {
  return dir_->file("pki");
}
std::string MosquittoProcess::ca_file() const {
  return pki::ca_cert_path(pki_dir());
}
std::string MosquittoProcess::log_file() const {
  return dir_->file("mosquitto.log");
}
std::string MosquittoProcess::log_text() const {
  return read_file(log_file());
}

TlsIdentity MosquittoProcess::identity_for(const std::string& cert_file,
                                           const std::string& key_file,
                                           const std::string& common_name) const {
  return TlsIdentity{ca_file(), cert_file, key_file, common_name};
}

TlsIdentity MosquittoProcess::agent(const std::string& store_id, const std::string& agent_id) {
  const std::string base = pki_dir() + "/" + pki::agent_file_name(store_id, agent_id);
  if (!std::filesystem::exists(base + ".crt")) {
    pki::IssueOptions o;
    o.kind = pki::CertKind::kAgent;
    o.store_id = store_id;
    o.agent_id = agent_id;
    auto issued = pki::issue(pki_dir(), o);
    if (!issued) throw std::runtime_error("agent certificate: " + issued.error().message);
  }
  return identity_for(base + ".crt", base + ".key", pki::agent_common_name(store_id, agent_id));
}

TlsIdentity MosquittoProcess::collector(const std::string& name) {
  const std::string base = pki_dir() + "/" + pki::collector_file_name(name);
  if (!std::filesystem::exists(base + ".crt")) {
    pki::IssueOptions o;
    o.kind = pki::CertKind::kCollector;
    o.name = name;
    auto issued = pki::issue(pki_dir(), o);
    if (!issued) throw std::runtime_error("collector certificate: " + issued.error().message);
  }
  return identity_for(base + ".crt", base + ".key", pki::collector_common_name(name));
}

TlsIdentity MosquittoProcess::foreign_agent() {
  const std::string foreign = dir_->file("foreign-pki");
  if (!std::filesystem::exists(pki::ca_cert_path(foreign))) {
    check(pki::init_ca(foreign, {options_.tenant, 30}), "foreign CA");
    pki::IssueOptions o;
    o.kind = pki::CertKind::kAgent;
    o.store_id = "store-1";
    o.agent_id = "agent-1";
    auto issued = pki::issue(foreign, o);
    if (!issued) throw std::runtime_error("foreign certificate: " + issued.error().message);
  }
  const std::string base = foreign + "/" + pki::agent_file_name("store-1", "agent-1");
  // The client still trusts the real broker; only its own certificate is foreign.
  return identity_for(base + ".crt", base + ".key", pki::agent_common_name("store-1", "agent-1"));
}

Status MosquittoProcess::add_agent(const std::string& store_id, const std::string& agent_id) {
  (void)agent(store_id, agent_id);
  const bool known = std::any_of(options_.agents.begin(), options_.agents.end(), [&](auto& a) {
    return a.store_id == store_id && a.agent_id == agent_id;
  });
  if (!known) options_.agents.push_back({store_id, agent_id});
  if (auto status = write_acl(); !status) return status;
  if (running() && ::kill(pid_, SIGHUP) != 0) {
    return make_error(ErrorCode::kIo, "cannot signal mosquitto to reload its ACL");
  }
  return ok_status();
}

Status MosquittoProcess::write_acl() {
  pki::AclOptions acl{options_.tenant, options_.collectors, options_.agents};
  try {
    write_file(dir_->file("acl"), pki::render_acl(acl));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kIo, e.what());
  }
  return ok_status();
}

mqtt::ClientOptions MosquittoProcess::client_options(const TlsIdentity& identity,
                                                     const std::string& client_id) const {
  mqtt::ClientOptions o;
  o.uri = uri();
  o.client_id = client_id;
  o.ca_file = identity.ca_file;
  o.cert_file = identity.cert_file;
  o.key_file = identity.key_file;
  o.protocol = mqtt::Protocol::kV5;
  o.persistent_session = false;
  o.connect_timeout = std::chrono::seconds(5);
  return o;
}

}  // namespace aisle::test
