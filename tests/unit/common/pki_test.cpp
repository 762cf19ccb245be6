#include "common/pki/pki.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace aisle::pki {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

X509Ptr load(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "r");
  REQUIRE(file);
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  REQUIRE(cert);
  return X509Ptr(cert, &X509_free);
}

// X509_verify_cert against the CA in `ca_dir` for a TLS client or server purpose, optionally at
// a given time and for a host name or IP. Returns the verify error (X509_V_OK on success).
int verify(const std::string& ca_dir, const std::string& cert_path, int purpose,
           const std::string& host = "", const std::string& ip = "") {
  auto ca = load(ca_cert_path(ca_dir));
  auto cert = load(cert_path);
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
  REQUIRE(X509_STORE_add_cert(store.get(), ca.get()) == 1);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) == 1);
  REQUIRE(X509_STORE_CTX_set_purpose(ctx.get(), purpose) == 1);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (!host.empty()) X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  if (!ip.empty()) X509_VERIFY_PARAM_set1_ip_asc(param, ip.c_str());
  const int ok = X509_verify_cert(ctx.get());
  const int error = X509_STORE_CTX_get_error(ctx.get());
  return ok == 1 ? X509_V_OK : (error == X509_V_OK ? -1 : error);
}

std::string name_field(const X509_NAME* name, int nid) {
  char buffer[256] = {};
  X509_NAME_get_text_by_NID(name, nid, buffer, sizeof buffer);
  return buffer;
}

mode_t file_mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

IssueOptions agent_options(const std::string& store, const std::string& agent) {
  IssueOptions o;
  o.kind = CertKind::kAgent;
  o.store_id = store;
  o.agent_id = agent;
  return o;
}

struct Ca {
  test::TempDir temp{"aisle-pki"};
  std::string dir = temp.file("pki");
  Ca() { REQUIRE(init_ca(dir, {"acme", 365}).ok()); }
};

}  // namespace

TEST_CASE("a new CA is a self-signed CA certificate with a private key", "[unit][pki]") {
  Ca ca;
  auto cert = load(ca_cert_path(ca.dir));
  CHECK(X509_check_ca(cert.get()) >= 1);
  CHECK(X509_check_issued(cert.get(), cert.get()) == X509_V_OK);
  CHECK(name_field(X509_get_subject_name(cert.get()), NID_organizationName) == "acme");
  CHECK((X509_get_key_usage(cert.get()) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) ==
        (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  CHECK(file_mode(ca_key_path(ca.dir)) == 0600);
  auto tenant = read_ca_tenant(ca.dir);
  REQUIRE(tenant.ok());
  CHECK(*tenant == "acme");
}

TEST_CASE("init_ca refuses to replace an existing CA", "[unit][pki]") {
  Ca ca;
  const std::string before = test::read_file(ca_cert_path(ca.dir));
  const auto status = init_ca(ca.dir, {"acme", 365});
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == ErrorCode::kAlreadyExists);
  CHECK(test::read_file(ca_cert_path(ca.dir)) == before);
}

TEST_CASE("an agent certificate chains to the CA and names its tenant, store and agent",
          "[unit][pki]") {
  Ca ca;
  auto issued = issue(ca.dir, agent_options("store-1", "agent-1"));
  REQUIRE(issued.ok());
  CHECK(issued->common_name == "agent:store-1:agent-1");
  CHECK(std::filesystem::path(issued->cert_path).filename() == "agent_store-1_agent-1.crt");
  CHECK(file_mode(issued->key_path) == 0600);

  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  // clientAuth only: the same certificate cannot serve as a TLS server.
  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_SERVER) == X509_V_ERR_INVALID_PURPOSE);

  auto cert = load(issued->cert_path);
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  CHECK(name_field(subject, NID_commonName) == "agent:store-1:agent-1");
  CHECK(name_field(subject, NID_organizationName) == "acme");
  CHECK(name_field(subject, NID_organizationalUnitName) == "store-1");
  CHECK(X509_check_ca(cert.get()) == 0);
  CHECK((X509_get_extended_key_usage(cert.get()) & XKU_SSL_CLIENT) != 0);
  CHECK((X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE) != 0);
  CHECK(X509_get0_subject_key_id(cert.get()) != nullptr);
  CHECK(X509_get0_authority_key_id(cert.get()) != nullptr);
}

TEST_CASE("a server certificate is valid for localhost, 127.0.0.1 and the extra names",
          "[unit][pki]") {
  Ca ca;
  IssueOptions o;
  o.kind = CertKind::kServer;
  o.name = "broker.store.example";
  o.extra_names = {"mqtt.example", "10.0.0.7"};
  auto issued = issue(ca.dir, o);
  REQUIRE(issued.ok());
  CHECK(issued->common_name == "broker.store.example");

  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_SERVER, "localhost") == X509_V_OK);
  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_SERVER, "", "127.0.0.1") == X509_V_OK);
  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_SERVER, "mqtt.example") == X509_V_OK);
  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_SERVER, "", "10.0.0.7") == X509_V_OK);
  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_SERVER, "evil.example") ==
        X509_V_ERR_HOSTNAME_MISMATCH);
  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_CLIENT) == X509_V_ERR_INVALID_PURPOSE);

  auto info = read_cert_info(issued->cert_path);
  REQUIRE(info.ok());
  CHECK(info->dns_names ==
        std::vector<std::string>{"broker.store.example", "localhost", "mqtt.example"});
  CHECK(info->ip_addresses == std::vector<std::string>{"127.0.0.1", "10.0.0.7"});
}

TEST_CASE("a collector certificate is named collector:<name>", "[unit][pki]") {
  Ca ca;
  IssueOptions o;
  o.kind = CertKind::kCollector;
  o.name = "central-1";
  auto issued = issue(ca.dir, o);
  REQUIRE(issued.ok());
  CHECK(issued->common_name == "collector:central-1");
  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
}

TEST_CASE("an expired certificate can be made and fails verification", "[unit][pki]") {
  Ca ca;
  const UnixMillis now = static_cast<UnixMillis>(std::time(nullptr)) * 1000;
  IssueOptions o = agent_options("store-1", "agent-1");
  o.not_before = now - 10LL * 86'400'000;
  o.not_after = now - 86'400'000;
  auto issued = issue(ca.dir, o);
  REQUIRE(issued.ok());
  CHECK(issued->not_after == (now - 86'400'000) / 1000 * 1000);
  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_CLIENT) == X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_CASE("a certificate from another CA does not verify", "[unit][pki]") {
  Ca ca;
  Ca other;
  auto issued = issue(other.dir, agent_options("store-1", "agent-1"));
  REQUIRE(issued.ok());
  CHECK(verify(ca.dir, issued->cert_path, X509_PURPOSE_SSL_CLIENT) ==
        X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_CASE("read_cert_info reports CN, subject, validity and serial", "[unit][pki]") {
  Ca ca;
  IssueOptions o = agent_options("store-7", "till-2");
  o.days = 30;
  auto issued = issue(ca.dir, o);
  REQUIRE(issued.ok());
  auto info = read_cert_info(issued->cert_path);
  REQUIRE(info.ok());
  CHECK(info->common_name == "agent:store-7:till-2");
  CHECK(info->subject == "CN=agent:store-7:till-2,OU=store-7,O=acme");
  CHECK(info->issuer == "CN=Aisle CA acme,O=acme");
  CHECK(info->serial_hex == issued->serial_hex);
  CHECK(info->not_after == issued->not_after);
  const UnixMillis now = static_cast<UnixMillis>(std::time(nullptr)) * 1000;
  CHECK(info->not_after - now > 29LL * 86'400'000);
  CHECK(info->not_after - now <= 30LL * 86'400'000);
  CHECK(info->not_before <= now);

  CHECK(read_cert_info(ca.temp.file("missing.crt")).error().code == ErrorCode::kNotFound);
}

TEST_CASE("serials are random 128-bit numbers recorded in the index", "[unit][pki]") {
  Ca ca;
  std::set<std::string> serials;
  for (int i = 0; i < 5; ++i) {
    auto issued = issue(ca.dir, agent_options("store-1", "agent-" + std::to_string(i)));
    REQUIRE(issued.ok());
    CHECK(issued->serial_hex.size() > 24);
    CHECK(issued->serial_hex.size() <= 32);
    serials.insert(issued->serial_hex);
  }
  CHECK(serials.size() == 5);

  const auto index = nlohmann::json::parse(test::read_file(index_path(ca.dir)));
  REQUIRE(index["certs"].size() == 5);
  const auto& first = index["certs"][0];
  CHECK(serials.count(first["serial"].get<std::string>()) == 1);
  CHECK(first["kind"] == "agent");
  CHECK(first["subject"] == "CN=agent:store-1:agent-0,OU=store-1,O=acme");
  CHECK(first["status"] == "valid");
  CHECK(first["not_after"].is_number_integer());
}

TEST_CASE("issue refuses bad ids, a missing CA and an existing pair unless overwriting",
          "[unit][pki]") {
  Ca ca;
  CHECK(issue(ca.dir, agent_options("", "agent-1")).error().code == ErrorCode::kInvalidArgument);
  CHECK(issue(ca.dir, agent_options("store/1", "agent-1")).error().code ==
        ErrorCode::kInvalidArgument);
  IssueOptions no_name;
  no_name.kind = CertKind::kCollector;
  CHECK(issue(ca.dir, no_name).error().code == ErrorCode::kInvalidArgument);
  CHECK(issue(ca.temp.file("nowhere"), agent_options("store-1", "agent-1")).error().code ==
        ErrorCode::kNotFound);

  auto first = issue(ca.dir, agent_options("store-1", "agent-1"));
  REQUIRE(first.ok());
  CHECK(issue(ca.dir, agent_options("store-1", "agent-1")).error().code ==
        ErrorCode::kAlreadyExists);
  IssueOptions again = agent_options("store-1", "agent-1");
  again.overwrite = true;
  auto second = issue(ca.dir, again);
  REQUIRE(second.ok());
  CHECK(second->serial_hex != first->serial_hex);
}

TEST_CASE("cert kinds parse from their names", "[unit][pki]") {
  CHECK(parse_cert_kind("agent") == CertKind::kAgent);
  CHECK(parse_cert_kind("collector") == CertKind::kCollector);
  CHECK(parse_cert_kind("server") == CertKind::kServer);
  CHECK_FALSE(parse_cert_kind("ca").has_value());
  CHECK(std::string(cert_kind_name(CertKind::kServer)) == "server");
}

}  // namespace aisle::pki
