#include "agent/http/agent_api.hpp"

#include <nlohmann/json.hpp>

#include "common/time_format.hpp"

namespace aisle::agent {

void register_agent_api(http::HttpServer& server, AgentApiContext context) {
  auto ctx = std::make_shared<AgentApiContext>(std::move(context));
  auto& bad_bodies = ctx->metrics.counter("aisle_agent_http_bad_requests_total",
                                          "Ingest requests refused whole (400/413)");

  server.post("/v1/events", "/v1/events", [ctx, &bad_bodies](const http::Request& request) {
    if (!ctx->accepting()) {
      auto answer = http::Response::error(503, "agent is shutting down; retry");
      answer.headers.emplace_back("Retry-After", "5");
      return answer;
    }
    http::Response error_answer;
    auto records = http::split_ingest_body(request, ctx->limits, error_answer);
    if (!records) {
      bad_bodies.inc();
      return error_answer;
    }
    IngestOrigin origin;
    origin.name = "http";
    origin.remote_addr = request.remote_addr;
    IngestReport report = ctx->ingest.ingest_records(*records, origin);
    return http::ingest_answer(report);
  });

  server.get("/healthz", "/healthz", [ctx](const http::Request&) {
    const OutboxStats stats = ctx->outbox.stats();
    nlohmann::json body = {{"status", "ok"}, {"backlog_events", stats.total_rows}};
    return http::Response::json(200, body.dump() + "\n");
  });

  server.get("/metrics", "/metrics", [ctx](const http::Request&) {
    http::Response response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = ctx->metrics.render();
    return response;
  });

  server.get("/v1/status", "/v1/status", [ctx](const http::Request&) {
    const OutboxStats stats = ctx->outbox.stats();
    nlohmann::json outbox = {
        {"events", stats.total_rows},
        {"bytes", stats.total_bytes},
        {"file_bytes", stats.file_bytes},
        {"batches_unacked", stats.batches},
        {"by_priority",
         {{"critical", {{"events", stats.rows[0]}, {"bytes", stats.bytes[0]}}},
          {"normal", {{"events", stats.rows[1]}, {"bytes", stats.bytes[1]}}},
          {"bulk", {{"events", stats.rows[2]}, {"bytes", stats.bytes[2]}}}}},
        {"stream_id", ctx->outbox.stream_id()}};
    if (stats.oldest_received_at) {
      outbox["oldest_event_at"] = format_rfc3339_ms(*stats.oldest_received_at);
    }
    nlohmann::json body = {{"store_id", ctx->store_id},
                           {"agent_id", ctx->agent_id},
                           {"version", AISLE_VERSION},
                           {"outbox", std::move(outbox)}};
    if (ctx->forwarder) {
      const ForwarderStatus fs = ctx->forwarder->status();
      nlohmann::json forwarder = {{"connected", fs.connected},
                                  {"batches_in_flight", fs.in_flight},
                                  {"batches_acked", fs.batches_acked},
                                  {"events_acked", fs.events_acked}};
      if (fs.last_ack_at) forwarder["last_ack_at"] = format_rfc3339_ms(*fs.last_ack_at);
      if (!fs.last_error.empty()) forwarder["last_error"] = fs.last_error;
      body["forwarder"] = std::move(forwarder);
    }
    if (ctx->adapters) body["adapters"] = ctx->adapters();
    if (ctx->consent) body["consent"] = ctx->consent();
    return http::Response::json(200, body.dump(2) + "\n");
  });
}

}  // namespace aisle::agent
