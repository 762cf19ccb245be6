#include "collector/segments/notify/notify_options.hpp"

#include <set>

#include "common/config.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;

// Reads one section: each reader records the first error, naming "<section>.<key>".
class SectionReader {
 public:
  SectionReader(const json& section, std::string name) : section_(section), name_(std::move(name)) {
    if (!section_.is_null() && !section_.is_object()) error_ = name_ + ": must be an object";
  }

  void boolean(const char* key, bool& out) {
    const json* v = find(key);
    if (!v) return;
    if (!v->is_boolean()) return fail(key, "must be true or false");
    out = v->get<bool>();
  }
  void count(const char* key, std::size_t min, std::size_t max, std::size_t& out) {
    const json* v = find(key);
    if (!v) return;
    if (!v->is_number_integer() || v->get<std::int64_t>() < static_cast<std::int64_t>(min) ||
        v->get<std::int64_t>() > static_cast<std::int64_t>(max)) {
      return fail(key, "must be an integer from " + std::to_string(min) + " to " +
                           std::to_string(max));
    }
    out = static_cast<std::size_t>(v->get<std::int64_t>());
  }
  void duration(const char* key, std::int64_t min_ms, std::int64_t max_ms,
                std::chrono::milliseconds& out) {
    const json* v = find(key);
    if (!v) return;
    auto ms = parse_duration_ms(*v);
    if (!ms || *ms < min_ms || *ms > max_ms) {
      return fail(key, "must be a duration (\"250ms\", \"30s\", \"5m\") from " +
                           std::to_string(min_ms) + " ms to " + std::to_string(max_ms) + " ms");
    }
    out = std::chrono::milliseconds(*ms);
  }
  void text(const char* key, std::string& out) {
    const json* v = find(key);
    if (!v) return;
    if (!v->is_string()) return fail(key, "must be a string");
    out = v->get<std::string>();
  }
  // The fanout queue of the channel: queue_capacity, max_batch, linger.
  void queue(ChannelOptions& q) {
    count("queue_capacity", 1, 10'000'000, q.queue_capacity);
    count("max_batch", 1, 100'000, q.max_batch);
    duration("linger", 0, 1000, q.linger);
  }
  Status finish() {
    if (error_.empty() && section_.is_object()) {
      for (const auto& [key, value] : section_.items()) {
        if (!seen_.count(key)) {
          error_ = name_ + "." + key + ": unknown key";
          break;
        }
      }
    }
    if (!error_.empty()) return make_error(ErrorCode::kInvalidArgument, error_);
    return ok_status();
  }

 private:
  const json* find(const char* key) {
    seen_.insert(key);
    if (!error_.empty() || !section_.is_object()) return nullptr;
    auto it = section_.find(key);
    return it == section_.end() ? nullptr : &*it;
  }
  void fail(const char* key, const std::string& message) {
    if (error_.empty()) error_ = name_ + "." + key + ": " + message;
  }

  const json& section_;
  std::string name_;
  std::set<std::string> seen_;
  std::string error_;
};

}  // namespace

Result<DownlinkOptions> parse_downlink_options(const json& section) {
  DownlinkOptions o;
  SectionReader r(section, "segments.downlink");
  r.boolean("enabled", o.enabled);
  r.count("max_changes_per_message", 1, 10000, o.max_changes_per_message);
  r.queue(o.queue);
  if (auto status = r.finish(); !status) return status.error();
  return o;
}

Result<WebhookOptions> parse_webhook_options(const json& section) {
  WebhookOptions o;
  SectionReader r(section, "segments.webhooks");
  r.boolean("enabled", o.enabled);
  r.text("database_path", o.database_path);
  r.count("workers", 1, 256, o.workers);
  r.duration("connect_timeout", 100, 60'000, o.connect_timeout);
  r.duration("request_timeout", 100, 300'000, o.request_timeout);
  r.count("max_attempts", 1, 100, o.max_attempts);
  r.duration("backoff_base", 1, 3'600'000, o.backoff_base);
  r.duration("backoff_cap", 1, 86'400'000, o.backoff_cap);
  r.count("max_webhooks", 1, 10000, o.max_webhooks);
  r.count("max_pending", 1, 100'000'000, o.max_pending);
  r.duration("poll_interval", 10, 60'000, o.poll_interval);
  r.boolean("synchronous_full", o.synchronous_full);
  r.queue(o.queue);
  if (auto status = r.finish(); !status) return status.error();
  if (o.backoff_cap < o.backoff_base) {
    return make_error(ErrorCode::kInvalidArgument,
                      "segments.webhooks.backoff_cap: must not be below backoff_base");
  }
  return o;
}

Result<StreamOptions> parse_stream_options(const json& section) {
  StreamOptions o;
  SectionReader r(section, "segments.stream");
  r.boolean("enabled", o.enabled);
  r.count("max_clients", 1, 10000, o.max_clients);
  r.count("ring_capacity", 1, 10'000'000, o.ring_capacity);
  r.count("client_queue", 1, 1'000'000, o.client_queue);
  r.duration("heartbeat", 100, 300'000, o.heartbeat);
  r.duration("retry", 0, 300'000, o.retry);
  r.queue(o.queue);
  if (auto status = r.finish(); !status) return status.error();
  return o;
}

}  // namespace aisle::collector::segments
