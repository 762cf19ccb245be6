// TlsFileWatch: the TLS files a daemon's MQTT connection uses (client certificate and key, CA,
// optionally the CA's CRL), watched for renewal and expiry (docs/operations.md, "Rotating
// certificates").
//
// Paho reads the files by path when it connects, so a renewed certificate is put in use by
// reconnecting: the watch calls `reconnect` (the agent's uplink drops its connection; the
// forwarder connects again and re-sends the batches in flight, which the collector deduplicates).
//  - reload() (SIGHUP): files that differ from those in use are checked (certificate and key
//    parse and belong together, the CA parses, the certificate is within its validity) and, if
//    usable, put in use with one reconnect. Unchanged files: nothing happens.
//  - poll() (the main loop): every check_interval the files are read again; a usable renewed set
//    is put in use on its own once the certificate in use expires within reload_before_expiry
//    (or has expired). Earlier it waits for SIGHUP, so a fleet does not reconnect the moment
//    configuration management writes the files.
//  - Metrics (seconds until notAfter of the certificates in use, until the CRL's nextUpdate) and
//    a log warning when one is within warn_before_expiry.
//
// Thread-safety: reload() and poll() from one thread (the main loop); the metric callbacks read
// the state under a mutex from the scraping thread. Both block on reading a few small files.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace aisle::pki {

struct TlsWatchOptions {
  // How often the files are read again (renewal, expiry warnings).
  std::chrono::seconds check_interval{60};
  // A renewed certificate found on disk is put in use without SIGHUP once the one in use
  // expires within this. 0: only on SIGHUP.
  std::chrono::seconds reload_before_expiry{7 * 86400};
  // A log warning (at most hourly per file) when a certificate in use expires, or the CRL's
  // nextUpdate passes, within this.
  std::chrono::seconds warn_before_expiry{14 * 86400};
};

// The `tls` config section ({"check_interval": "60s", "reload_before_expiry": "7d",
// "warn_before_expiry": "14d"}; every key optional). kInvalidArgument naming the key
// (`<path>.<key>`) for an unknown key, a malformed duration or a check_interval under 1 s.
Result<TlsWatchOptions> parse_tls_watch_options(const nlohmann::json& section,
                                                const std::string& path = "tls");

struct TlsFiles {
  std::string cert_file;  // the client certificate ("" = none: only the CA is watched)
  std::string key_file;
  std::string ca_file;
  std::string crl_file;  // "" = no CRL
};

// A certificate's notAfter and a CRL's nextUpdate, read from PEM files. kNotFound when the
// file cannot be read, kInvalidArgument when it holds no PEM certificate / CRL.
Result<UnixMillis> read_certificate_not_after(const std::string& path);
Result<UnixMillis> read_crl_next_update(const std::string& path);

class TlsFileWatch {
 public:
  using Reconnect = std::function<void()>;

  // Reads the files (a file that cannot be read is logged and shows no expiry metric) and
  // registers the metrics `<metric_prefix>_tls_certificate_expiry_seconds{file,kind}` (kind
  // "client" or "ca"), `<metric_prefix>_tls_crl_next_update_seconds{file}`,
  // `<metric_prefix>_tls_reloads_total` and `<metric_prefix>_tls_reload_failures_total`.
  // `metrics` and `reconnect`'s target must outlive the watch.
  TlsFileWatch(TlsFiles files, TlsWatchOptions options, const std::string& metric_prefix,
               metrics::Registry& metrics, ClockPtr clock, Reconnect reconnect);

  // SIGHUP: puts changed, usable files in use (one reconnect). Returns true when it reconnected,
  // false when nothing changed; an error naming the file when the changed files are unusable
  // (the files in use stay, and so does the connection).
  Result<bool> reload();
  // Periodic work; returns at once until check_interval passed since the last check.
  void poll();

  // Seconds until the notAfter of the client certificate in use (nullopt without one).
  std::optional<double> client_expiry_seconds() const;

 private:
  // One file's content and what was read from it.
  struct FileState {
    std::string digest;                 // sha256 of the content; "" when unreadable
    std::optional<UnixMillis> expires;  // notAfter / nextUpdate
  };
  struct Snapshot {
    std::map<std::string, FileState> files;  // by path
    bool operator==(const Snapshot& other) const;
  };

  Result<Snapshot> read_snapshot() const;
  Status check_usable(const Snapshot& snapshot) const;
  // Applies `candidate` (reconnect) when it differs from what is in use; see reload().
  Result<bool> apply_if_changed(const Snapshot& candidate, const char* trigger);
  void warn_if_expiring(UnixMillis now);
  std::optional<double> seconds_until(const std::string& path) const;

  TlsFiles files_;
  TlsWatchOptions options_;
  ClockPtr clock_;
  Reconnect reconnect_;
  metrics::Counter& reloads_;
  metrics::Counter& reload_failures_;

  mutable std::mutex mutex_;  // guards in_use_ (read by the metric callbacks)
  Snapshot in_use_;
  // Main-loop state.
  std::chrono::steady_clock::time_point next_check_{};
  std::map<std::string, std::chrono::steady_clock::time_point> next_warning_;
  std::string pending_digest_logged_;  // a renewal waiting for SIGHUP, logged once
};

}  // namespace aisle::pki
