// HTTPS for the collector's API (http.tls): TLS 1.2+, optional client certificates, and a clear
// error when the certificate cannot be loaded.
#include <httplib.h>

#include <catch2/catch.hpp>

#include "common/http/http_server.hpp"
#include "common/pki/pki.hpp"
#include "tests/support/temp_dir.hpp"

using namespace aisle;

namespace {

struct Pki {
  test::TempDir dir{"aisle-tls"};
  std::string ca;
  pki::IssuedCert server;
  pki::IssuedCert client;
  Pki() {
    REQUIRE(pki::init_ca(dir.path().string(), {"acme", 30}));
    ca = pki::ca_cert_path(dir.path().string());
    pki::IssueOptions s;
    s.kind = pki::CertKind::kServer;
    s.name = "collector.example.internal";
    auto issued = pki::issue(dir.path().string(), s);
    REQUIRE(issued);
    server = *issued;
    pki::IssueOptions c;
    c.kind = pki::CertKind::kCollector;
    c.name = "ops-console";
    auto client_cert = pki::issue(dir.path().string(), c);
    REQUIRE(client_cert);
    client = *client_cert;
  }
};

std::unique_ptr<http::HttpServer> serve(http::ServerOptions options, metrics::Registry& metrics) {
  auto server = std::make_unique<http::HttpServer>(std::move(options), metrics, "test");
  server->get("/ping", "/ping",
              [](const http::Request&) { return http::Response::json(200, "{\"ok\":true}"); });
  return server;
}

}  // namespace

TEST_CASE("the API answers over TLS and refuses plain HTTP on the TLS port", "[collector][http][tls]") {
  Pki pki;
  metrics::Registry metrics;
  http::ServerOptions options;
  options.tls_cert_file = pki.server.cert_path;
  options.tls_key_file = pki.server.key_path;
  auto server = serve(options, metrics);
  REQUIRE(server->start());

  httplib::SSLClient tls("127.0.0.1", server->port());
  tls.set_ca_cert_path(pki.ca.c_str());
  tls.enable_server_certificate_verification(true);
  auto ok = tls.Get("/ping");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "{\"ok\":true}");

  httplib::Client plain("127.0.0.1", server->port());
  plain.set_read_timeout(2, 0);
  auto refused = plain.Get("/ping");
  CHECK_FALSE((refused && refused->status == 200));

  // A client that trusts another CA refuses the server.
  test::TempDir other;
  REQUIRE(pki::init_ca(other.path().string(), {"other", 30}));
  httplib::SSLClient stranger("127.0.0.1", server->port());
  stranger.set_ca_cert_path(pki::ca_cert_path(other.path().string()).c_str());
  stranger.enable_server_certificate_verification(true);
  CHECK_FALSE(stranger.Get("/ping"));
  server->stop();
}

TEST_CASE("with a client CA only clients with a certificate get answers", "[collector][http][tls]") {
  Pki pki;
  metrics::Registry metrics;
  http::ServerOptions options;
  options.tls_cert_file = pki.server.cert_path;
  options.tls_key_file = pki.server.key_path;
  options.tls_client_ca_file = pki.ca;
  auto server = serve(options, metrics);
  REQUIRE(server->start());

  httplib::SSLClient anonymous("127.0.0.1", server->port());
  anonymous.set_ca_cert_path(pki.ca.c_str());
  anonymous.enable_server_certificate_verification(true);
  CHECK_FALSE(anonymous.Get("/ping"));

  httplib::SSLClient known("127.0.0.1", server->port(), pki.client.cert_path, pki.client.key_path);
  known.set_ca_cert_path(pki.ca.c_str());
  known.enable_server_certificate_verification(true);
  auto ok = known.Get("/ping");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  server->stop();
}

TEST_CASE("an unreadable certificate is a start error naming the files", "[collector][http][tls]") {
  test::TempDir dir;
  metrics::Registry metrics;
  http::ServerOptions options;
  options.tls_cert_file = dir.file("missing.crt");
  options.tls_key_file = dir.file("missing.key");
  auto server = serve(options, metrics);
  auto started = server->start();
  REQUIRE_FALSE(started);
  CHECK_THAT(started.error().message, Catch::Contains("missing.crt"));
}
