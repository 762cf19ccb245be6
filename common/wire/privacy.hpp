// Privacy messages between the collector and its agents (docs/protocol.md, "Consent and erasure"):
//
//   aisle/v1/<tenant>/broadcast/consent                collector -> all agents: consent changes
//   aisle/v1/<tenant>/broadcast/erasure                collector -> all agents: erase identities
//   aisle/v1/<tenant>/<store_id>/<agent_id>/up/consent_sync   agent -> collector: "send me changes
//                                                              since version v" (after a connect)
//   aisle/v1/<tenant>/<store_id>/<agent_id>/down/consent      collector -> one agent: the answer
//   aisle/v1/<tenant>/<store_id>/<agent_id>/up/erasure_receipt agent -> collector: what it purged
//
// Consent is keyed by identifier ("type:value", after edge pseudonymization), because agents see
// identifiers, not profiles. Every change carries the collector's consent version, a counter that
// only grows; an agent applies an update only on top of the version it holds, so a missed
// broadcast is noticed (a gap) and healed by a sync.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/event.hpp"
#include "common/result.hpp"
#include "common/wire/topics.hpp"

namespace aisle::wire {

std::string broadcast_topic(std::string_view tenant, std::string_view kind);
std::string uplink_topic(const AgentAddress& address, std::string_view kind);
// The collector's subscription to every agent's uplink of `kind`, shared across replicas.
std::string shared_uplink_subscription(std::string_view group, std::string_view kind);
// Parses "aisle/v1/<tenant>/<store>/<agent>/up/<kind>"; nullopt for anything else.
struct UplinkAddress {
  AgentAddress agent;
  std::string kind;
};
std::optional<UplinkAddress> parse_uplink_topic(std::string_view topic);

struct ConsentEntry {
  std::string identity;         // "type:value", e.g. "user_id:cust-104857"
  ConsentFlags flags;           // kUnknown = no decision recorded for that purpose
  UnixMillis decided_at = 0;    // occurred_at of the decision that set the latest purpose
  std::uint64_t version = 0;    // collector consent version of this change
  friend bool operator==(const ConsentEntry&, const ConsentEntry&) = default;
};

// Changes with versions in (from_version, to_version]. A broadcast carries one change set
// (from_version = the version before it); a sync answer may come in pages (`more` = another page
// follows, starting at to_version).
struct ConsentUpdate {
  std::uint64_t from_version = 0;
  std::uint64_t to_version = 0;
  bool more = false;
  std::vector<ConsentEntry> entries;
  friend bool operator==(const ConsentUpdate&, const ConsentUpdate&) = default;
};

struct ConsentSyncRequest {
  std::uint64_t since_version = 0;
  friend bool operator==(const ConsentSyncRequest&, const ConsentSyncRequest&) = default;
};

struct ErasureRequest {
  std::string erasure_id;               // UUID, names the erasure in GET /v1/erasures/{id}
  std::vector<std::string> identities;  // "type:value" of every identifier of the profile
  UnixMillis requested_at = 0;
  friend bool operator==(const ErasureRequest&, const ErasureRequest&) = default;
};

// What one agent purged for an erasure. `signature` is over signed_text(receipt) with the
// agent's private key (its mTLS client key); `certificate` is the agent's PEM certificate, which
// the collector checks against the fleet CA and the agent_id (the certificate's CN).
struct ErasureReceipt {
  std::string erasure_id;
  std::string tenant;
  std::string store_id;
  std::string agent_id;
  std::uint64_t events_purged = 0;        // outbox rows (events and quarantine) removed
  std::uint64_t cache_entries_purged = 0;  // consent cache and other local caches
  UnixMillis purged_at = 0;
  std::string signature;    // base64 of the signature (ECDSA or RSA, SHA-256)
  std::string certificate;  // PEM
  friend bool operator==(const ErasureReceipt&, const ErasureReceipt&) = default;
};
// The exact bytes that are signed: the receipt's fields in a fixed order, one per line.
std::string signed_text(const ErasureReceipt& receipt);

std::string encode_consent_update(const ConsentUpdate& update);
Result<ConsentUpdate> decode_consent_update(std::string_view payload);
std::string encode_consent_sync(const ConsentSyncRequest& request);
Result<ConsentSyncRequest> decode_consent_sync(std::string_view payload);
std::string encode_erasure_request(const ErasureRequest& request);
Result<ErasureRequest> decode_erasure_request(std::string_view payload);
std::string encode_erasure_receipt(const ErasureReceipt& receipt);
Result<ErasureReceipt> decode_erasure_receipt(std::string_view payload);

}  // namespace aisle::wire
