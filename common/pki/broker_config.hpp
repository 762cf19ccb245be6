// Mosquitto configuration for a tenant PKI: one mutual-TLS listener whose clients are named by
// their certificate CN (use_identity_as_username) and an ACL file granting each identity exactly
// the topics of common/wire/topics.hpp. Used by `aislectl devenv` and the test broker fixture, so
// both run the access model production uses (docs/devenv.md).
//
// How Mosquitto 2.0 applies acl_file rules (checked against 2.0.11, src/security_default.c):
//  - PUBLISH is checked as "write" on the topic; a denied QoS 1 publish still gets a PUBACK
//    (reason 0x87 under MQTT 5) and is dropped.
//  - SUBSCRIBE is NOT checked at all: every filter is granted. Instead each message is checked as
//    "read" against its concrete topic when it is about to be delivered, and silently skipped when
//    denied. So a "$share/<group>/" prefix needs no rule of its own: the collector's
//    $share/<group>/aisle/v1/+/+/+/events receives exactly what its "read" rules allow.
//  - Consequence: any client may JOIN a shared group. A member denied "read" still takes its turn
//    in the round-robin, and the message it is dealt is dropped for the whole group. Keep the
//    collector's share_group secret (devenv generates a random one); only a plugin that checks
//    subscriptions (dynamic-security) closes this fully.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace aisle::pki {

struct BrokerAgent {
  std::string store_id;
  std::string agent_id;
};

struct AclOptions {
  std::string tenant;
  std::vector<std::string> collectors;  // collector names (CN=collector:<name>)
  std::vector<BrokerAgent> agents;      // CN=agent:<store_id>:<agent_id>
};

// The identities of a CA directory's index.json (common/pki/pki.hpp): the tenant (the CA's O=),
// every collector and agent whose newest certificate of that name is not revoked (a revoked
// agent also loses its ACL rules, beside the broker's CRL). Server certificates are not clients.
// For `aislectl pki acl`, which writes the production broker's acl_file
// (packaging/mosquitto/README.md). kDataLoss for an index entry it cannot read.
Result<AclOptions> acl_options_from_index(const std::string& dir);

// The acl_file text: per identity, explicit rules; nothing for anonymous clients.
//   collector: read  aisle/v1/<tenant>/+/+/events
//              write aisle/v1/<tenant>/+/+/acks, aisle/v1/<tenant>/+/+/down/#
//   agent:     write aisle/v1/<tenant>/<store>/<agent>/events
//              read  aisle/v1/<tenant>/<store>/<agent>/acks, .../down/#
std::string render_acl(const AclOptions& options);

struct MosquittoOptions {
  std::string bind_address = "127.0.0.1";
  int port = 8883;
  std::string ca_file;
  std::string cert_file;  // the broker's server certificate
  std::string key_file;
  std::string acl_file;
  // The CA's CRL (pki::crl_path): revoked client certificates are refused in the handshake.
  // Empty: no revocation checking. Mosquitto 2.0 rereads it on SIGHUP.
  std::string crl_file;
  // Empty: no persistence. Otherwise the directory of mosquitto.db (must exist, writable by user).
  std::string persistence_dir;
  // Seconds between snapshots of in-flight messages and sessions; a kill -9 loses the rest.
  int autosave_interval_s = 60;
  // Empty: log to stderr.
  std::string log_file;
  // The account Mosquitto switches to when started as root (it ignores this otherwise). Empty
  // keeps Mosquitto's default ("mosquitto"), which cannot read keys owned by another user.
  std::string user;
  // Also log connections' protocol traffic (debug), e.g. "Denied PUBLISH" lines.
  bool verbose_log = false;
};

// The mosquitto.conf text: TLS 1.2+ only, client certificates required, no anonymous access.
std::string render_mosquitto_conf(const MosquittoOptions& options);

}  // namespace aisle::pki
