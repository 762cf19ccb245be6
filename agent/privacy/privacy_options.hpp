// The agent's privacy configuration (the `privacy` section of the agent config; every key is
// documented in packaging/config/agent.example.json and docs/privacy.md). Plain data.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/pii_normalize.hpp"

namespace aisle::agent::privacy {

// The normalizers live in common (the collector truncates web clients' IPs too).
using pii::normalize_email;
using pii::normalize_phone;
using pii::PhoneRules;
using pii::trim;
using pii::truncate_ip;


// How a configured property value is normalized before it is hashed.
enum class FieldKind { kText, kEmail, kPhone };

// What happens to the events of an identity without `analytics` consent.
enum class ConsentAction { kAllow, kDrop, kAnonymize };

struct PseudonymizationOptions {
  bool enabled = false;
  std::string key_file;            // the per-tenant HMAC key (same file in every store)
  std::size_t min_key_bytes = 32;  // a shorter key file refuses start
  // Identity types replaced by their HMAC: "email" -> email_sha256, "phone" -> phone_sha256,
  // any other type (loyalty_id, custom types) in place.
  std::set<std::string, std::less<>> identities{"email", "phone", "loyalty_id"};
  PhoneRules phone;
  // event type -> top-level property -> how it is normalized before hashing.
  std::map<std::string, std::map<std::string, FieldKind>, std::less<>> properties;
};

struct IpTruncationOptions {
  bool enabled = true;
  int ipv4_prefix = 24;
  int ipv6_prefix = 48;
};

struct ConsentPolicyOptions {
  std::string cache_path;                            // default: consent.db beside the outbox
  ConsentAction on_denied = ConsentAction::kDrop;    // kDrop or kAnonymize
  ConsentAction on_unknown = ConsentAction::kAllow;  // any of the three
  // Types never filtered by consent: a `consent` event is how a denial reaches the collector.
  std::set<std::string, std::less<>> exempt_types{"consent"};
  // event type -> properties an anonymized event keeps; a type without a list is dropped
  // instead of anonymized (its required properties could not be kept otherwise).
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> anonymize_keep;
  // A sync request unanswered for this long is sent again when a gap shows up.
  std::chrono::milliseconds sync_timeout{30000};
};

struct PrivacyOptions {
  PseudonymizationOptions pseudonymization;
  IpTruncationOptions ip_truncation;
  // event type -> the top-level properties kept; types not listed keep everything.
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> minimization;
  ConsentPolicyOptions consent;
  // Adapters whose undecodable frames may hold raw identifiers (POS receipts): with
  // pseudonymization on, their quarantined frames keep no raw bytes. Filled by the agent.
  std::set<std::string, std::less<>> redact_frames_of_adapters;
};

}  // namespace aisle::agent::privacy
