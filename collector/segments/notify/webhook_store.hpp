// WebhookStore: the webhook registrations, their pending deliveries and their dead letters, in
// one SQLite database (<data_dir>/webhooks.db, WAL). Pending deliveries live here from the moment
// a change is accepted for a webhook until it is acknowledged (2xx) or dead-lettered, so they
// survive a collector restart: delivery is at least once, and the change_id is the receiver's
// idempotency key.
//
// Thread-safe: one writer connection behind a mutex (the API threads and the delivery workers
// share it; every call is one short statement or transaction).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/store/sqlite_db.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::collector::segments {

inline constexpr std::int64_t kWebhookStoreApplicationId = 0x4157484b;  // "AWHK"

struct Webhook {
  std::string id;      // UUIDv7
  std::string url;     // http:// or https://
  std::string secret;  // HMAC key of the signature header
  std::vector<std::string> segments;  // changes of these segments only; empty = all segments
  bool enabled = true;
  UnixMillis created_at = 0;

  bool wants(const std::string& segment_id) const;
};

struct Delivery {
  std::int64_t id = 0;  // grows with creation: per webhook, deliveries go out in id order
  std::string webhook_id;
  std::string change_id;
  std::string event_type;  // "segment_entered" / "segment_exited"
  std::string body;        // the JSON POSTed
  int attempts = 0;        // failed attempts so far
  UnixMillis next_attempt_at = 0;
  UnixMillis created_at = 0;
  std::string last_error;
};

struct DeadLetter {
  std::int64_t id = 0;
  std::string webhook_id;
  std::string change_id;
  std::string event_type;
  std::string body;
  int attempts = 0;
  UnixMillis created_at = 0;  // when the delivery was first queued
  UnixMillis failed_at = 0;
  std::string last_error;
};

struct WebhookStoreOptions {
  std::string path;
  bool synchronous_full = true;
};

class WebhookStore {
 public:
  static Result<std::unique_ptr<WebhookStore>> open(const WebhookStoreOptions& options);

  Status add(const Webhook& webhook);
  Result<std::vector<Webhook>> list();
  Result<std::optional<Webhook>> get(const std::string& id);
  // Removes the webhook with its pending deliveries and dead letters; false when absent.
  Result<bool> remove(const std::string& id);

  // Queues deliveries in one transaction; a (webhook, change) pair already queued is ignored,
  // so a change handed over twice is delivered once. Returns how many were new.
  Result<std::size_t> enqueue(const std::vector<Delivery>& deliveries);
  // The oldest pending delivery of each webhook whose next attempt is due, at most `limit`, the
  // longest-waiting first. Later deliveries of a webhook wait behind its head (ordering).
  Result<std::vector<Delivery>> due_heads(UnixMillis now, std::size_t limit);
  // The earliest next_attempt_at of any pending delivery; nullopt when none is pending.
  Result<std::optional<UnixMillis>> next_due();
  Status mark_delivered(std::int64_t delivery_id);
  Status reschedule(std::int64_t delivery_id, int attempts, UnixMillis next_attempt_at,
                    const std::string& error);
  // Moves a delivery to the dead letters (one transaction).
  Status dead_letter(std::int64_t delivery_id, int attempts, UnixMillis failed_at,
                     const std::string& error);
  // Stores a dead letter for a delivery that was never queued (pending limit reached).
  Status add_dead_letter(const DeadLetter& letter);
  Result<std::vector<DeadLetter>> dead_letters(const std::string& webhook_id, std::size_t limit);
  // Moves the webhook's dead letters back to pending (attempts reset, due now), oldest first.
  // Returns how many.
  Result<std::size_t> redeliver(const std::string& webhook_id, UnixMillis now);
  Result<std::int64_t> pending_count();
  Result<std::int64_t> dead_letter_count();

 private:
  explicit WebhookStore(SqliteDb db) : db_(std::move(db)) {}
  Result<std::vector<Webhook>> select_webhooks(const std::string& where_id);

  std::mutex mutex_;
  SqliteDb db_;
};

}  // namespace aisle::collector::segments
