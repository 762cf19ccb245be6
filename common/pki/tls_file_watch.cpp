#include "common/pki/tls_file_watch.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include "common/config.hpp"
#include "common/crypto.hpp"
#include "common/log.hpp"
#include "common/pki/openssl_util.hpp"

namespace aisle::pki {
namespace {

using detail::BioPtr;
using detail::Deleter;
using detail::PkeyPtr;
using detail::ssl_error;
using detail::X509Ptr;
using crypto::sha256_hex;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;

const log::Logger kLog("common.pki.tls_watch");

// How often one file's expiry warning is repeated while it stays within warn_before_expiry.
constexpr std::chrono::hours kWarningRepeat{1};

UnixMillis asn1_ms(const ASN1_TIME* time) {
  std::tm tm{};
  if (!time || ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return static_cast<UnixMillis>(timegm(&tm)) * 1000;
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

BioPtr memory_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

Result<X509Ptr> parse_cert(const std::string& text, const std::string& path) {
  BioPtr bio = memory_bio(text);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return ssl_error(ErrorCode::kInvalidArgument, "not a PEM certificate: " + path);
  return cert;
}

Result<CrlPtr> parse_crl(const std::string& text, const std::string& path) {
  BioPtr bio = memory_bio(text);
  CrlPtr crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!crl) return ssl_error(ErrorCode::kInvalidArgument, "not a PEM CRL: " + path);
  return crl;
}

Result<PkeyPtr> parse_key(const std::string& text, const std::string& path) {
  BioPtr bio = memory_bio(text);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return ssl_error(ErrorCode::kInvalidArgument, "not a PEM private key: " + path);
  return key;
}

Result<UnixMillis> cert_not_after(const std::string& text, const std::string& path) {
  auto cert = parse_cert(text, path);
  if (!cert) return cert.error();
  return asn1_ms(X509_get0_notAfter(cert->get()));
}

Result<UnixMillis> crl_next_update(const std::string& text, const std::string& path) {
  auto crl = parse_crl(text, path);
  if (!crl) return crl.error();
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl->get());
  if (!next) return make_error(ErrorCode::kInvalidArgument, "CRL without nextUpdate: " + path);
  return asn1_ms(next);
}

}  // namespace

Result<UnixMillis> read_certificate_not_after(const std::string& path) {
  auto text = read_text(path);
  if (!text) return text.error();
  return cert_not_after(*text, path);
}

Result<UnixMillis> read_crl_next_update(const std::string& path) {
  auto text = read_text(path);
  if (!text) return text.error();
  return crl_next_update(*text, path);
}

Result<TlsWatchOptions> parse_tls_watch_options(const nlohmann::json& section,
                                                const std::string& path) {
  TlsWatchOptions options;
  if (section.is_null()) return options;
  if (!section.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, path + ": must be an object");
  }
  for (const auto& [key, value] : section.items()) {
    std::chrono::seconds* target = nullptr;
    if (key == "check_interval") target = &options.check_interval;
    if (key == "reload_before_expiry") target = &options.reload_before_expiry;
    if (key == "warn_before_expiry") target = &options.warn_before_expiry;
    if (!target) return make_error(ErrorCode::kInvalidArgument, path + "." + key + ": unknown key");
    const auto ms = parse_duration_ms(value);
    if (!ms || *ms < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        path + "." + key + ": not a duration (\"60s\", \"7d\")");
    }
    *target = std::chrono::seconds(*ms / 1000);
  }
  if (options.check_interval < std::chrono::seconds(1)) {
    return make_error(ErrorCode::kInvalidArgument, path + ".check_interval: at least 1s");
  }
  return options;
}

bool TlsFileWatch::Snapshot::operator==(const Snapshot& other) const {
  if (files.size() != other.files.size()) return false;
  for (const auto& [path, state] : files) {
    auto it = other.files.find(path);
    if (it == other.files.end() || it->second.digest != state.digest) return false;
  }
  return true;
}

TlsFileWatch::TlsFileWatch(TlsFiles files, TlsWatchOptions options,
                           const std::string& metric_prefix, metrics::Registry& metrics,
                           ClockPtr clock, Reconnect reconnect)
    : files_(std::move(files)),
      options_(options),
      clock_(clock ? std::move(clock) : SystemClock::instance()),
      reconnect_(std::move(reconnect)),
      reloads_(metrics.counter(metric_prefix + "_tls_reloads_total",
                               "Reconnects that put renewed TLS files in use")),
      reload_failures_(metrics.counter(
          metric_prefix + "_tls_reload_failures_total",
          "Renewed TLS files found unusable (the files in use stay in use)")) {
  auto snapshot = read_snapshot();
  if (snapshot) {
    in_use_ = std::move(*snapshot);
  } else {
    kLog.warn("cannot read the TLS files", {{"error", snapshot.error().message}});
  }
  next_check_ = clock_->now_steady() + options_.check_interval;
  const std::string expiry = metric_prefix + "_tls_certificate_expiry_seconds";
  const char* expiry_help = "Seconds until the notAfter of a certificate in use (negative: expired)";
  if (!files_.cert_file.empty()) {
    metrics.gauge_callback(expiry, expiry_help, {{"file", files_.cert_file}, {"kind", "client"}},
                           [this] { return seconds_until(files_.cert_file).value_or(0.0); });
  }
  if (!files_.ca_file.empty()) {
    metrics.gauge_callback(expiry, expiry_help, {{"file", files_.ca_file}, {"kind", "ca"}},
                           [this] { return seconds_until(files_.ca_file).value_or(0.0); });
  }
  if (!files_.crl_file.empty()) {
    metrics.gauge_callback(
        metric_prefix + "_tls_crl_next_update_seconds",
        "Seconds until the nextUpdate of the CRL in use (negative: stale, every certificate "
        "is refused by verifiers that check it)",
        {{"file", files_.crl_file}},
        [this] { return seconds_until(files_.crl_file).value_or(0.0); });
  }
  warn_if_expiring(clock_->now_unix_ms());
}

std::optional<double> TlsFileWatch::seconds_until(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = in_use_.files.find(path);
  if (it == in_use_.files.end() || !it->second.expires) return std::nullopt;
  return static_cast<double>(*it->second.expires - clock_->now_unix_ms()) / 1000.0;
}

std::optional<double> TlsFileWatch::client_expiry_seconds() const {
  if (files_.cert_file.empty()) return std::nullopt;
  return seconds_until(files_.cert_file);
}

Result<TlsFileWatch::Snapshot> TlsFileWatch::read_snapshot() const {
  Snapshot snapshot;
  const auto add = [&](const std::string& path, const char* kind) -> Status {
    if (path.empty()) return ok_status();
    auto text = read_text(path);
    if (!text) return text.error();
    FileState state;
    state.digest = sha256_hex(*text);
    if (std::string(kind) == "cert") {
      auto not_after = cert_not_after(*text, path);
      if (!not_after) return not_after.error();
      state.expires = *not_after;
    } else if (std::string(kind) == "crl") {
      auto next = crl_next_update(*text, path);
      if (!next) return next.error();
      state.expires = *next;
    }
    snapshot.files[path] = std::move(state);
    return ok_status();
  };
  for (const auto& [path, kind] : {std::pair{files_.cert_file, "cert"},
                                   std::pair{files_.key_file, "key"},
                                   std::pair{files_.ca_file, "cert"},
                                   std::pair{files_.crl_file, "crl"}}) {
    if (auto status = add(path, kind); !status) return status.error();
  }
  return snapshot;
}

Status TlsFileWatch::check_usable(const Snapshot& snapshot) const {
  if (files_.cert_file.empty()) return ok_status();
  // Read again, and compare with the snapshot: a file replaced in between is caught next time.
  auto cert_text = read_text(files_.cert_file);
  if (!cert_text) return cert_text.error();
  auto key_text = read_text(files_.key_file);
  if (!key_text) return key_text.error();
  if (sha256_hex(*cert_text) != snapshot.files.at(files_.cert_file).digest ||
      sha256_hex(*key_text) != snapshot.files.at(files_.key_file).digest) {
    return make_error(ErrorCode::kUnavailable, "the TLS files changed while being read");
  }
  auto cert = parse_cert(*cert_text, files_.cert_file);
  if (!cert) return cert.error();
  auto key = parse_key(*key_text, files_.key_file);
  if (!key) return key.error();
  // A certificate written before its key (or the other way round) must not be put in use.
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::kInvalidArgument,
                      "key " + files_.key_file + " does not belong to " + files_.cert_file);
  }
  const UnixMillis now = clock_->now_unix_ms();
  if (asn1_ms(X509_get0_notBefore(cert->get())) > now) {
    return make_error(ErrorCode::kInvalidArgument, files_.cert_file + " is not valid yet");
  }
  if (asn1_ms(X509_get0_notAfter(cert->get())) <= now) {
    return make_error(ErrorCode::kInvalidArgument, files_.cert_file + " has expired");
  }
  return ok_status();
}

Result<bool> TlsFileWatch::apply_if_changed(const Snapshot& candidate, const char* trigger) {
  {
    std::lock_guard lock(mutex_);
    if (candidate == in_use_) return false;
  }
  if (auto status = check_usable(candidate); !status) {
    reload_failures_.inc();
    kLog.error("renewed TLS files are not usable; keeping the connection and files in use",
               {{"trigger", trigger}, {"error", status.error().message}});
    return status.error();
  }
  {
    std::lock_guard lock(mutex_);
    in_use_ = candidate;
  }
  pending_digest_logged_.clear();
  reloads_.inc();
  const auto expiry = client_expiry_seconds();
  kLog.info("reconnecting with renewed TLS files",
            {{"trigger", trigger},
             {"cert", files_.cert_file},
             {"expires_in_s", expiry ? static_cast<std::int64_t>(*expiry) : 0}});
  if (reconnect_) reconnect_();
  return true;
}

Result<bool> TlsFileWatch::reload() {
  auto snapshot = read_snapshot();
  if (!snapshot) {
    reload_failures_.inc();
    kLog.error("cannot read the TLS files; keeping those in use",
               {{"error", snapshot.error().message}});
    return snapshot.error();
  }
  next_check_ = clock_->now_steady() + options_.check_interval;
  auto applied = apply_if_changed(*snapshot, "sighup");
  if (applied && !*applied) kLog.info("TLS files unchanged", {{"cert", files_.cert_file}});
  return applied;
}

void TlsFileWatch::poll() {
  const auto now = clock_->now_steady();
  if (now < next_check_) return;
  next_check_ = now + options_.check_interval;
  warn_if_expiring(clock_->now_unix_ms());
  auto snapshot = read_snapshot();
  if (!snapshot) {
    // Half-written files during a renewal look like this: try again next check.
    kLog.warn("cannot read the TLS files", {{"error", snapshot.error().message}});
    return;
  }
  bool changed;
  {
    std::lock_guard lock(mutex_);
    changed = !(*snapshot == in_use_);
  }
  if (!changed) return;
  const auto expiry = client_expiry_seconds();
  const bool due =
      !files_.cert_file.empty() &&
      (!expiry || *expiry <= static_cast<double>(options_.reload_before_expiry.count()));
  if (due) {
    (void)apply_if_changed(*snapshot, "expiry");
    return;
  }
  std::string digest;
  for (const auto& [path, state] : snapshot->files) digest += state.digest;
  if (digest != pending_digest_logged_) {
    pending_digest_logged_ = digest;
    kLog.info("renewed TLS files on disk; put in use on SIGHUP or when the certificate in use "
              "is about to expire",
              {{"cert", files_.cert_file},
               {"reload_before_expiry_s",
                static_cast<std::int64_t>(options_.reload_before_expiry.count())}});
  }
}

void TlsFileWatch::warn_if_expiring(UnixMillis now_ms) {
  const auto now = clock_->now_steady();
  std::map<std::string, FileState> files;
  {
    std::lock_guard lock(mutex_);
    files = in_use_.files;
  }
  const std::int64_t threshold_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.warn_before_expiry).count();
  for (const auto& [path, state] : files) {
    if (!state.expires || *state.expires - now_ms > threshold_ms) continue;
    auto it = next_warning_.find(path);
    if (it != next_warning_.end() && now < it->second) continue;
    next_warning_[path] = now + kWarningRepeat;
    const bool crl = path == files_.crl_file;
    kLog.warn(crl ? "CRL nextUpdate is near: reissue it (aislectl pki crl)"
                  : "certificate expires soon: renew it (aislectl pki issue --force)",
              {{"file", path}, {"seconds_left", (*state.expires - now_ms) / 1000}});
  }
}

}  // namespace aisle::pki
