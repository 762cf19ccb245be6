// TlsFileWatch (common/pki/tls_file_watch.hpp): expiry metrics, SIGHUP reloads, renewal before
// expiry and refusal of unusable files, on certificates from a real temporary CA and a
// ManualClock set to the present (the certificates are issued with today's dates).
#include "common/pki/tls_file_watch.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "common/pki/pki.hpp"
#include "common/pki/revocation.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::pki {
namespace {

using namespace std::chrono_literals;
constexpr std::int64_t kDay = 86400;

struct Fixture {
  test::TempDir dir{"aisle-tls-watch"};
  std::shared_ptr<ManualClock> clock =
      std::make_shared<ManualClock>(SystemClock::instance()->now_unix_ms());
  metrics::Registry metrics;
  int reconnects = 0;
  IssuedCert cert;

  explicit Fixture(int cert_days = 30) {
    REQUIRE(init_ca(ca_dir(), CaOptions{"acme", 3650}).ok());
    cert = issue_agent(cert_days, false);
  }
  std::string ca_dir() const { return dir.file("pki"); }
  IssuedCert issue_agent(int days, bool overwrite) {
    IssueOptions options;
    options.kind = CertKind::kAgent;
    options.store_id = "store-1";
    options.agent_id = "agent-1";
    options.days = days;
    options.overwrite = overwrite;
    auto issued = issue(ca_dir(), options);
    REQUIRE(issued.ok());
    return *issued;
  }
  TlsFiles files(bool with_crl = false) const {
    return TlsFiles{cert.cert_path, cert.key_path, ca_cert_path(ca_dir()),
                    with_crl ? crl_path(ca_dir()) : ""};
  }
  std::unique_ptr<TlsFileWatch> watch(TlsWatchOptions options = {}, bool with_crl = false) {
    return std::make_unique<TlsFileWatch>(files(with_crl), options, "aisle_agent", metrics, clock,
                                          [this] { ++reconnects; });
  }
  double expiry(const std::string& file, const std::string& kind) const {
    return metrics.value("aisle_agent_tls_certificate_expiry_seconds",
                         {{"file", file}, {"kind", kind}});
  }
};

}  // namespace

TEST_CASE("the TLS watch reports the seconds left on the client certificate, the CA and the CRL",
          "[common][pki][tls_watch]") {
  Fixture f(30);
  REQUIRE(write_crl(f.ca_dir(), 10).ok());
  auto watch = f.watch({}, true);
  CHECK(f.expiry(f.cert.cert_path, "client") == Approx(30.0 * kDay).margin(120));
  CHECK(f.expiry(ca_cert_path(f.ca_dir()), "ca") == Approx(3650.0 * kDay).margin(120));
  CHECK(f.metrics.value("aisle_agent_tls_crl_next_update_seconds",
                        {{"file", crl_path(f.ca_dir())}}) == Approx(10.0 * kDay).margin(120));
  f.clock->advance(std::chrono::hours(24));
  CHECK(f.expiry(f.cert.cert_path, "client") == Approx(29.0 * kDay).margin(120));
  // Past notAfter the gauge goes negative, which an alert "< 14 days" still catches.
  f.clock->advance(std::chrono::hours(24 * 30));
  CHECK(f.expiry(f.cert.cert_path, "client") < 0);
}

TEST_CASE("SIGHUP puts a renewed certificate in use with one reconnect and ignores unchanged files",
          "[common][pki][tls_watch]") {
  Fixture f(30);
  auto watch = f.watch();
  auto unchanged = watch->reload();
  REQUIRE(unchanged.ok());
  CHECK_FALSE(*unchanged);
  CHECK(f.reconnects == 0);

  f.issue_agent(400, true);  // same files, new key and certificate
  auto renewed = watch->reload();
  REQUIRE(renewed.ok());
  CHECK(*renewed);
  CHECK(f.reconnects == 1);
  CHECK(f.expiry(f.cert.cert_path, "client") == Approx(400.0 * kDay).margin(120));
  CHECK(f.metrics.value("aisle_agent_tls_reloads_total") == 1);
  auto again = watch->reload();
  REQUIRE(again.ok());
  CHECK_FALSE(*again);
  CHECK(f.reconnects == 1);
}

TEST_CASE("a renewed certificate is put in use without SIGHUP once the one in use is within "
          "reload_before_expiry",
          "[common][pki][tls_watch]") {
  Fixture f(30);
  TlsWatchOptions options;
  options.check_interval = 60s;
  options.reload_before_expiry = std::chrono::seconds(7 * kDay);
  auto watch = f.watch(options);
  f.issue_agent(400, true);

  // 30 days left: the renewal waits for SIGHUP.
  f.clock->advance(61s);
  watch->poll();
  CHECK(f.reconnects == 0);
  CHECK(f.expiry(f.cert.cert_path, "client") == Approx(30.0 * kDay).margin(200));

  // Not checked again before check_interval passed.
  f.clock->advance(std::chrono::hours(24 * 24));
  watch->poll();
  CHECK(f.reconnects == 1);  // 6 days left: due
  CHECK(f.expiry(f.cert.cert_path, "client") == Approx(376.0 * kDay).margin(200));
  f.clock->advance(61s);
  watch->poll();
  CHECK(f.reconnects == 1);
}

TEST_CASE("the TLS watch checks the files only every check_interval", "[common][pki][tls_watch]") {
  Fixture f(3);  // within reload_before_expiry from the start
  TlsWatchOptions options;
  options.check_interval = 60s;
  auto watch = f.watch(options);
  f.issue_agent(400, true);
  f.clock->advance(30s);
  watch->poll();
  CHECK(f.reconnects == 0);
  f.clock->advance(31s);
  watch->poll();
  CHECK(f.reconnects == 1);
}

TEST_CASE("renewed files whose key does not belong to the certificate are not put in use",
          "[common][pki][tls_watch]") {
  Fixture f(3);
  auto watch = f.watch();
  // A certificate written before its key: another identity's certificate over ours.
  IssueOptions other;
  other.kind = CertKind::kAgent;
  other.store_id = "store-2";
  other.agent_id = "agent-2";
  auto issued = issue(f.ca_dir(), other);
  REQUIRE(issued.ok());
  std::filesystem::copy_file(issued->cert_path, f.cert.cert_path,
                             std::filesystem::copy_options::overwrite_existing);
  auto reloaded = watch->reload();
  REQUIRE_FALSE(reloaded.ok());
  CHECK(reloaded.error().message.find("does not belong to") != std::string::npos);
  CHECK(f.reconnects == 0);
  CHECK(f.metrics.value("aisle_agent_tls_reload_failures_total") == 1);
  // The certificate in use is still the one reported.
  CHECK(f.expiry(f.cert.cert_path, "client") == Approx(3.0 * kDay).margin(120));
  // Nor on its own, although the one in use is about to expire.
  f.clock->advance(61s);
  watch->poll();
  CHECK(f.reconnects == 0);
  CHECK(f.metrics.value("aisle_agent_tls_reload_failures_total") == 2);
}

TEST_CASE("the tls config section parses durations and names bad keys",
          "[common][pki][tls_watch]") {
  auto parsed = parse_tls_watch_options(
      nlohmann::json{{"check_interval", "30s"}, {"reload_before_expiry", "3d"},
                     {"warn_before_expiry", "21d"}});
  REQUIRE(parsed.ok());
  CHECK(parsed->check_interval == 30s);
  CHECK(parsed->reload_before_expiry == std::chrono::seconds(3 * kDay));
  CHECK(parsed->warn_before_expiry == std::chrono::seconds(21 * kDay));
  auto defaults = parse_tls_watch_options(nlohmann::json::object());
  REQUIRE(defaults.ok());
  CHECK(defaults->reload_before_expiry == std::chrono::seconds(7 * kDay));

  auto unknown = parse_tls_watch_options(nlohmann::json{{"reload_before", "7d"}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == "tls.reload_before: unknown key");
  auto bad = parse_tls_watch_options(nlohmann::json{{"check_interval", "soon"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("tls.check_interval") == 0);
  auto short_interval = parse_tls_watch_options(nlohmann::json{{"check_interval", "100ms"}});
  REQUIRE_FALSE(short_interval.ok());
}

}  // namespace aisle::pki
