// A small tenant PKI on OpenSSL 3: one CA per tenant and the certificates the broker, the
// collector and every store agent present in mutual TLS. Mosquitto maps a client certificate's
// Common Name to its username (use_identity_as_username), so the CN formats below ARE the broker
// identities its ACL names (common/pki/broker_config.hpp).
//
// Directory layout (one per tenant; owned by the operator, never shared between tenants):
//   ca.key  (0600)  EC P-256 CA key         ca.crt   self-signed CA certificate
//   <name>.key (0600) + <name>.crt          one pair per issued certificate
//   index.json      every certificate issued: serial, subject, kind, name, not_after, status.
// The index is what a later CRL is built from (status "revoked" + revoked_at); the CA already
// carries keyUsage cRLSign so it can sign one without being re-issued.
//
// Not thread-safe against itself on one directory (an operator tool and test fixtures use it).
// Every call blocks on file I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::pki {

enum class CertKind {
  kAgent,      // a store agent: client certificate, EKU clientAuth
  kCollector,  // the central collector: client certificate, EKU clientAuth
  kServer,     // the MQTT broker: server certificate, EKU serverAuth, subjectAltName
};
const char* cert_kind_name(CertKind kind);
std::optional<CertKind> parse_cert_kind(std::string_view text);

// Subject Common Names, i.e. the broker usernames.
std::string agent_common_name(std::string_view store_id, std::string_view agent_id);  // agent:S:A
std::string collector_common_name(std::string_view name);                             // collector:N

// Default file base names (without .crt/.key). '_' separates the parts because it cannot occur in
// an id (ids match [A-Za-z0-9.:-]), so two different agents never share a file.
std::string agent_file_name(std::string_view store_id, std::string_view agent_id);  // agent_S_A
std::string collector_file_name(std::string_view name);                             // collector_N
std::string server_file_name(std::string_view hostname);                            // server_H

struct CaOptions {
  std::string tenant = "aisle";  // O= of every certificate; the CA's CN is "Aisle CA <tenant>"
  int days = 3650;
};

struct IssueOptions {
  CertKind kind = CertKind::kAgent;
  std::string store_id;  // agent only
  std::string agent_id;  // agent only
  // Collector: its name (CN=collector:<name>). Server: the broker's hostname (CN=<hostname>).
  std::string name;
  // Server only: more subjectAltNames beside DNS:<hostname>, DNS:localhost and IP:127.0.0.1.
  // Entries that parse as IPv4/IPv6 addresses become IP names, the rest DNS names.
  std::vector<std::string> extra_names;
  int days = 825;
  // Explicit validity, overriding `days` (tests make not-yet-valid and expired certificates).
  std::optional<UnixMillis> not_before;
  std::optional<UnixMillis> not_after;
  // File base name in the directory; empty means the kind's default (*_file_name above).
  std::string file_name;
  // Replace an existing <file_name>.crt/.key pair (re-issue); otherwise kAlreadyExists.
  bool overwrite = false;
};

struct IssuedCert {
  std::string cert_path;  // absolute
  std::string key_path;   // absolute
  std::string common_name;
  std::string serial_hex;  // lowercase, no leading zeros
  UnixMillis not_after = 0;
};

struct CertInfo {
  std::string common_name;
  std::string subject;  // one line, RFC 2253 ("CN=agent:store-1:agent-1,OU=store-1,O=acme")
  std::string issuer;   // same form
  std::string serial_hex;
  UnixMillis not_before = 0;
  UnixMillis not_after = 0;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries, textual
};

inline std::string ca_cert_path(const std::string& dir) {
  return dir + "/ca.crt";
}
inline std::string ca_key_path(const std::string& dir) {
  return dir + "/ca.key";
}
inline std::string index_path(const std::string& dir) {
  return dir + "/index.json";
}

// Creates `dir` (and parents) and a new CA in it. kAlreadyExists when ca.key or ca.crt exists:
// replacing a CA silently would orphan every certificate already deployed.
Status init_ca(const std::string& dir, const CaOptions& options);

// Issues a certificate signed by the CA in `dir` and records it in index.json. kInvalidArgument
// for missing or malformed ids, kNotFound without a CA, kAlreadyExists for an existing pair
// unless `overwrite`.
Result<IssuedCert> issue(const std::string& dir, const IssueOptions& options);

// Reads a PEM certificate.
Result<CertInfo> read_cert_info(const std::string& path);

// The tenant recorded by init_ca (the CA's O=), for callers that issue later.
Result<std::string> read_ca_tenant(const std::string& dir);

}  // namespace aisle::pki
