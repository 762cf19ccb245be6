// Configuration of the segment change channels (docs/segment-triggers.md, "Configuration"):
//   segments.downlink   the agent downlink (AgentDownlink) and its fanout queue
//   segments.webhooks   webhook delivery (WebhookDispatcher) and its fanout queue
//   segments.stream     the Server-Sent Events stream (SegmentStreamHub) and its fanout queue
// Each parse function checks its own section: unknown keys, wrong types and out-of-range values
// are errors naming the key ("segments.webhooks.max_attempts: must be an integer from 1 to 100").
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "collector/segments/notify/change_fanout.hpp"
#include "common/result.hpp"

namespace aisle::collector::segments {

struct DownlinkOptions {
  bool enabled = true;
  std::size_t max_changes_per_message = 100;
  ChannelOptions queue{"downlink", 10000, 512, std::chrono::milliseconds(5)};
};

struct WebhookOptions {
  bool enabled = true;
  std::string database_path;  // "" = <data_dir>/webhooks.db (the lead fills it in)
  std::size_t workers = 4;    // delivery threads (each keeps its own keep-alive connections)
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{10000};  // whole request, connect included
  std::size_t max_attempts = 8;                       // then the delivery is dead-lettered
  std::chrono::milliseconds backoff_base{1000};       // full jitter: uniform(0, base * 2^n)
  std::chrono::milliseconds backoff_cap{300000};
  std::size_t max_webhooks = 100;
  std::size_t max_pending = 100000;  // deliveries waiting; beyond, new ones are dead-lettered
  std::chrono::milliseconds poll_interval{1000};  // longest sleep of an idle worker
  bool synchronous_full = true;  // fsync each enqueue (FULL) or not (NORMAL)
  ChannelOptions queue{"webhooks", 10000, 256, std::chrono::milliseconds(0)};
};

struct StreamOptions {
  bool enabled = true;
  std::size_t max_clients = 16;       // concurrent SSE clients; beyond, 503
  std::size_t ring_capacity = 10000;  // recent changes kept for Last-Event-ID resume
  std::size_t client_queue = 1000;    // changes waiting for one client; beyond, it is dropped
  std::chrono::milliseconds heartbeat{15000};
  std::chrono::milliseconds retry{3000};  // the reconnection delay announced to clients
  ChannelOptions queue{"stream", 10000, 256, std::chrono::milliseconds(0)};
};

Result<DownlinkOptions> parse_downlink_options(const nlohmann::json& section);
Result<WebhookOptions> parse_webhook_options(const nlohmann::json& section);
Result<StreamOptions> parse_stream_options(const nlohmann::json& section);

}  // namespace aisle::collector::segments
