#include "collector/api/segment_stream_api.hpp"

#include <charconv>
#include <memory>

#include <nlohmann/json.hpp>

namespace aisle::collector {
namespace {

constexpr std::size_t kMaxFilterSegments = 100;

bool valid_segment_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// What one SSE client's producer keeps between calls.
struct ClientStream {
  segments::SegmentStreamHub::Subscribed subscribed;
  std::optional<std::uint64_t> last_event_id;
  bool started = false;
  std::chrono::steady_clock::time_point last_write;
};

}  // namespace

Result<std::set<std::string>> parse_segment_filter(const std::string& text) {
  std::set<std::string> out;
  if (text.empty()) return out;
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view id = rest.substr(0, comma);
    if (!valid_segment_id(id)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "segment: \"" + std::string(id.substr(0, 64)) +
                            "\" is not a segment id (1 to 128 characters of [A-Za-z0-9_.:-])");
    }
    out.emplace(id);
    if (out.size() > kMaxFilterSegments) {
      return make_error(ErrorCode::kInvalidArgument,
                        "segment: more than " + std::to_string(kMaxFilterSegments) + " segments");
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

void register_segment_stream_api(http::HttpServer& server, SegmentStreamApiContext context) {
  auto ctx = std::make_shared<SegmentStreamApiContext>(std::move(context));
  auto& bad = ctx->metrics.counter("aisle_collector_segment_stream_bad_requests_total",
                                   "SSE requests refused as malformed");
  server.get("/v1/segments/stream", "/v1/segments/stream", [ctx, &bad](const http::Request& r) {
    if (!ctx->keys.authenticate_admin(r, "read")) {
      auto answer = http::Response::error(401, "missing or invalid API key");
      answer.headers.emplace_back("WWW-Authenticate", "Bearer");
      return answer;
    }
    auto filter = parse_segment_filter(r.param("segment"));
    if (!filter) {
      bad.inc();
      return http::Response::error(400, filter.error().message);
    }
    std::optional<std::uint64_t> last_event_id;
    std::string last = r.header("Last-Event-ID");
    if (last.empty()) last = r.param("last_event_id");
    if (!last.empty()) {
      std::uint64_t id = 0;
      const auto [ptr, ec] = std::from_chars(last.data(), last.data() + last.size(), id);
      if (ec != std::errc() || ptr != last.data() + last.size()) {
        bad.inc();
        return http::Response::error(400, "Last-Event-ID: not an event id (a decimal number)");
      }
      last_event_id = id;
    }
    auto subscribed = ctx->hub.subscribe(std::move(*filter), last_event_id);
    if (!subscribed) {
      auto answer = http::Response::error(503, subscribed.error().message);
      answer.headers.emplace_back("Retry-After", "5");
      return answer;
    }
    auto state = std::make_shared<ClientStream>();
    state->subscribed = std::move(*subscribed);
    state->last_event_id = last_event_id;

    http::Response response;
    response.status = 200;
    response.content_type = "text/event-stream";
    response.headers.emplace_back("Cache-Control", "no-cache");
    response.headers.emplace_back("X-Accel-Buffering", "no");  // proxies: do not buffer
    const auto heartbeat = ctx->hub.options().heartbeat;
    const auto retry = ctx->hub.options().retry;
    const auto slice = ctx->poll_slice;
    response.stream = [state, heartbeat, retry, slice](http::StreamWriter& out) {
      using Clock = std::chrono::steady_clock;
      if (!state->started) {
        state->started = true;
        std::string head = "retry: " + std::to_string(retry.count()) + "\n\n";
        if (state->subscribed.reset) {
          const nlohmann::json data = {
              {"reason", "Last-Event-ID is older than the changes kept; reload state"},
              {"last_event_id", *state->last_event_id}};
          head += "event: reset\nid: " + std::to_string(state->subscribed.resume_id) +
                  "\ndata: " + data.dump() + "\n\n";
        }
        state->last_write = Clock::now();
        return out.write(head);
      }
      auto& sub = *state->subscribed.subscription;
      const auto since_write = Clock::now() - state->last_write;
      const auto until_heartbeat =
          std::chrono::duration_cast<std::chrono::milliseconds>(heartbeat - since_write);
      auto events = sub.wait(std::clamp(until_heartbeat, std::chrono::milliseconds(1), slice));
      if (sub.dropped()) return false;  // too slow: the hub let go; the client resumes
      if (!events.empty()) {
        std::string text;
        for (const auto& e : events) text += segments::format_sse(*e);
        state->last_write = Clock::now();
        return out.write(text) && out.open();
      }
      if (Clock::now() - state->last_write >= heartbeat) {
        state->last_write = Clock::now();
        return out.write(": heartbeat\n\n") && out.open();
      }
      return out.open();
    };
    return response;
  });
}

}  // namespace aisle::collector
