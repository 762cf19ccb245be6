// Webhook delivery against a real local HTTP receiver (httplib::Server on a free port) that fails
// when told to: signatures, retries with backoff, dead letters, redelivery, restart persistence,
// ordering, and the webhook API over a real HttpServer.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "collector/api/webhook_api.hpp"
#include "collector/segments/notify/webhook_dispatcher.hpp"
#include "common/crypto.hpp"
#include "common/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const std::string kSecret = "0123456789abcdef-receiver-secret";

SegmentChange change(int n, const std::string& segment = "vip") {
  SegmentChange c;
  c.change_id = "change-" + std::to_string(n);
  c.kind = SegmentChangeKind::kEntered;
  c.profile_id = "profile-" + std::to_string(n);
  c.segment_id = segment;
  c.version = 1;
  c.at = 1'764'428'400'000 + n;
  c.trigger_event_id = "event-" + std::to_string(n);
  c.reason = "event";
  return c;
}

// A webhook receiver: answers the n-th request (1-based) with answer(n), records every request.
class Receiver {
 public:
  struct Hit {
    std::string body;
    std::string timestamp;
    std::string signature;
    std::string delivery;
    std::string event;
  };

  explicit Receiver(int port = 0) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      int status = 200;
      {
        const std::lock_guard lock(mutex_);
        hits_.push_back({req.body, req.get_header_value("X-Aisle-Timestamp"),
                         req.get_header_value("X-Aisle-Signature"),
                         req.get_header_value("X-Aisle-Delivery"),
                         req.get_header_value("X-Aisle-Event")});
        status = answer_(static_cast<int>(hits_.size()));
      }
      changed_.notify_all();
      res.status = status;
      res.set_content("{}", "application/json");
    });
    if (port == 0) {
      port_ = server_.bind_to_any_port("127.0.0.1");
    } else {
      REQUIRE(server_.bind_to_port("127.0.0.1", port));
      port_ = port;
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  void answer(std::function<int(int)> f) {
    const std::lock_guard lock(mutex_);
    answer_ = std::move(f);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<Hit> wait_for(std::size_t count, milliseconds timeout = milliseconds(10000)) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return hits_.size() >= count; });
    return hits_;
  }
  std::vector<Hit> hits() {
    const std::lock_guard lock(mutex_);
    return hits_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Hit> hits_;
  std::function<int(int)> answer_ = [](int) { return 200; };
};

WebhookOptions fast_options() {
  WebhookOptions o;
  o.workers = 2;
  o.max_attempts = 4;
  o.backoff_base = milliseconds(10);
  o.backoff_cap = milliseconds(40);
  o.poll_interval = milliseconds(50);
  o.connect_timeout = milliseconds(500);
  o.request_timeout = milliseconds(2000);
  o.synchronous_full = false;
  return o;
}

std::unique_ptr<WebhookDispatcher> make_dispatcher(const test::TempDir& dir,
                                                   metrics::Registry& metrics,
                                                   WebhookOptions options = fast_options()) {
  auto store = WebhookStore::open({dir.file("webhooks.db"), false});
  REQUIRE(store);
  return std::make_unique<WebhookDispatcher>(options, std::move(*store), make_curl_poster,
                                             metrics);
}

Webhook must_create(WebhookDispatcher& d, const std::string& url,
                    std::vector<std::string> segments = {}) {
  auto w = d.create({url, kSecret, std::move(segments), true});
  REQUIRE(w);
  return *w;
}

// Waits until `done` holds (the dispatcher's workers run on their own threads).
template <typename F>
bool eventually(F&& done, milliseconds timeout = milliseconds(10000)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

void deliver(WebhookDispatcher& d, std::vector<SegmentChange> changes) { d.deliver(changes); }

}  // namespace

TEST_CASE("a webhook gets signed changes and a failing receiver is retried until it answers 2xx",
          "[collector][segment_notify][webhooks]") {
  test::TempDir dir;
  metrics::Registry metrics;
  Receiver receiver;
  receiver.answer([](int n) { return n <= 2 ? 503 : 200; });
  auto dispatcher = make_dispatcher(dir, metrics);
  const Webhook hook = must_create(*dispatcher, receiver.url());
  dispatcher->start();
  deliver(*dispatcher, {change(1)});

  const auto hits = receiver.wait_for(3);
  REQUIRE(hits.size() == 3);
  for (const auto& hit : hits) {
    // What a receiver does (docs/segment-triggers.md): recompute and compare in constant time.
    const std::string expected =
        "sha256=" + crypto::hmac_sha256_hex(kSecret, hit.timestamp + "." + hit.body);
    CHECK(crypto::constant_time_equals(hit.signature, expected));
    CHECK(hit.delivery == "change-1");
    CHECK(hit.event == "segment_entered");
    auto body = json::parse(hit.body);
    CHECK(body["change_id"] == "change-1");
    CHECK(body["segment_id"] == "vip");
  }
  REQUIRE(eventually([&] { return dispatcher->store().pending_count().value_or(-1) == 0; }));
  dispatcher->stop();
  CHECK(metrics.value("aisle_collector_webhook_deliveries_total", {{"outcome", "delivered"}}) == 1);
  CHECK(metrics.value("aisle_collector_webhook_deliveries_total", {{"outcome", "retried"}}) == 2);
  CHECK(metrics.value("aisle_collector_webhook_deliveries_total", {{"outcome", "failed"}}) == 2);
  CHECK(receiver.hits().size() == 3);  // nothing sent after the 2xx
  // A tampered body does not verify.
  CHECK_FALSE(crypto::constant_time_equals(
      hits[2].signature,
      "sha256=" + crypto::hmac_sha256_hex(kSecret, hits[2].timestamp + "." + hits[2].body + " ")));
  (void)hook;
}

TEST_CASE("after max_attempts failures a delivery is dead-lettered, and redelivery sends it again",
          "[collector][segment_notify][webhooks]") {
  test::TempDir dir;
  metrics::Registry metrics;
  Receiver receiver;
  std::atomic<bool> healthy{false};
  receiver.answer([&](int) { return healthy ? 200 : 500; });
  auto dispatcher = make_dispatcher(dir, metrics);
  const Webhook hook = must_create(*dispatcher, receiver.url());
  dispatcher->start();
  deliver(*dispatcher, {change(1)});

  REQUIRE(eventually([&] { return dispatcher->store().dead_letter_count().value_or(0) == 1; }));
  CHECK(receiver.hits().size() == 4);  // max_attempts
  auto letters = dispatcher->dead_letters(hook.id, 10);
  REQUIRE(letters);
  REQUIRE(letters->size() == 1);
  CHECK((*letters)[0].change_id == "change-1");
  CHECK((*letters)[0].attempts == 4);
  CHECK((*letters)[0].last_error == "HTTP 500");
  CHECK(metrics.value("aisle_collector_webhook_dead_letters_total") == 1);

  healthy = true;
  auto moved = dispatcher->redeliver(hook.id);
  REQUIRE(moved);
  CHECK(*moved == 1);
  const auto hits = receiver.wait_for(5);
  REQUIRE(hits.size() == 5);
  CHECK(hits[4].delivery == "change-1");
  REQUIRE(eventually([&] { return dispatcher->store().pending_count().value_or(-1) == 0; }));
  CHECK(dispatcher->store().dead_letter_count().value_or(-1) == 0);
  dispatcher->stop();
}

TEST_CASE("a 4xx answer is not retried, but 408 and 429 are", "[collector][segment_notify][webhooks]") {
  test::TempDir dir;
  metrics::Registry metrics;
  Receiver refusing;
  refusing.answer([](int) { return 400; });
  Receiver throttling;
  throttling.answer([](int n) { return n == 1 ? 429 : (n == 2 ? 408 : 200); });
  auto dispatcher = make_dispatcher(dir, metrics);
  const Webhook refused = must_create(*dispatcher, refusing.url());
  must_create(*dispatcher, throttling.url());
  dispatcher->start();
  deliver(*dispatcher, {change(1)});

  REQUIRE(throttling.wait_for(3).size() == 3);
  REQUIRE(eventually([&] { return dispatcher->store().dead_letter_count().value_or(0) == 1; }));
  REQUIRE(eventually([&] { return dispatcher->store().pending_count().value_or(-1) == 0; }));
  dispatcher->stop();
  CHECK(refusing.hits().size() == 1);
  auto letters = dispatcher->dead_letters(refused.id, 10);
  REQUIRE(letters);
  REQUIRE(letters->size() == 1);
  CHECK((*letters)[0].attempts == 1);
  CHECK((*letters)[0].last_error == "HTTP 400");
}

TEST_CASE("pending deliveries survive a collector restart and are delivered once the receiver is up",
          "[collector][segment_notify][webhooks]") {
  test::TempDir dir;
  auto port = find_free_port();
  REQUIRE(port);
  const std::string url = "http://127.0.0.1:" + std::to_string(*port) + "/hook";
  WebhookOptions options = fast_options();
  options.max_attempts = 100;
  {
    metrics::Registry metrics;
    auto dispatcher = make_dispatcher(dir, metrics, options);
    must_create(*dispatcher, url);
    dispatcher->start();
    deliver(*dispatcher, {change(1), change(2)});
    // Nothing listens: connection refused, retried.
    REQUIRE(eventually([&] {
      return metrics.value("aisle_collector_webhook_deliveries_total", {{"outcome", "retried"}}) >=
             2;
    }));
    dispatcher->stop();
    CHECK(dispatcher->store().pending_count().value_or(-1) == 2);
  }
  Receiver receiver(*port);
  metrics::Registry metrics;
  auto restarted = make_dispatcher(dir, metrics, options);
  restarted->start();
  const auto hits = receiver.wait_for(2);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].delivery == "change-1");  // in order
  CHECK(hits[1].delivery == "change-2");
  REQUIRE(eventually([&] { return restarted->store().pending_count().value_or(-1) == 0; }));
  restarted->stop();
}

TEST_CASE("a webhook receives only its segments, in the order the changes were accepted",
          "[collector][segment_notify][webhooks]") {
  test::TempDir dir;
  metrics::Registry metrics;
  Receiver receiver;
  // Fail every third request once: ordering must hold across retries.
  receiver.answer([](int n) { return n % 3 == 0 ? 503 : 200; });
  auto dispatcher = make_dispatcher(dir, metrics);
  must_create(*dispatcher, receiver.url(), {"vip", "espresso"});
  dispatcher->start();
  std::vector<SegmentChange> changes;
  for (int i = 0; i < 12; ++i) changes.push_back(change(i, i % 4 == 3 ? "other" : "vip"));
  deliver(*dispatcher, changes);
  REQUIRE(eventually([&] { return dispatcher->store().pending_count().value_or(-1) == 0; }));
  dispatcher->stop();
  std::vector<std::string> delivered;
  for (const auto& hit : receiver.hits()) {
    if (delivered.empty() || delivered.back() != hit.delivery) delivered.push_back(hit.delivery);
  }
  const std::vector<std::string> expected{"change-0", "change-1", "change-2",  "change-4",
                                          "change-5", "change-6", "change-8",  "change-9",
                                          "change-10"};
  CHECK(delivered == expected);
}

TEST_CASE("the webhook API registers, lists, shows dead letters, redelivers and deletes",
          "[collector][segment_notify][webhooks][api]") {
  test::TempDir dir;
  metrics::Registry metrics;
  Receiver receiver;
  receiver.answer([](int) { return 410; });  // gone: dead-lettered at once
  auto dispatcher = make_dispatcher(dir, metrics);
  dispatcher->start();
  const ApiKeys keys({}, {{"ops", crypto::sha256_hex("admin-key"), "admin", ""},
                          {"viewer", crypto::sha256_hex("read-key"), "read", ""}});
  http::HttpServer server({}, metrics, "collector");
  std::vector<std::string> audited;
  register_webhook_api(server, {*dispatcher, keys, metrics,
                                [&](const std::string& actor, const std::string& action,
                                    const std::string&, const json&) {
                                  audited.push_back(actor + " " + action);
                                }});
  REQUIRE(server.start());
  httplib::Client client("127.0.0.1", server.port());
  const httplib::Headers admin{{"Authorization", "Bearer admin-key"}};
  const httplib::Headers reader{{"Authorization", "Bearer read-key"}};

  auto r = client.Post("/v1/webhooks", R"({"url":"ftp://x"})", "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);
  r = client.Post("/v1/webhooks", reader, R"({"url":"http://x"})", "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);  // a read key cannot register
  r = client.Post("/v1/webhooks", admin, R"({"url":"ftp://x"})", "application/json");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(json::parse(r->body)["error"] == "url: must start with http:// or https://");
  r = client.Post("/v1/webhooks", admin, R"({"url":"http://x","segments":[1]})",
                  "application/json");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(json::parse(r->body)["error"] == "segments[0]: not a string");
  r = client.Post("/v1/webhooks", admin, R"({"url":"http://x","colour":"red"})",
                  "application/json");
  REQUIRE(r);
  CHECK(json::parse(r->body)["error"] == "colour: unknown field");

  r = client.Post("/v1/webhooks", admin,
                  json({{"url", receiver.url()}, {"segments", {"vip"}}}).dump(),
                  "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 201);
  const json created = json::parse(r->body);
  const std::string id = created["id"];
  CHECK(created["secret"].get<std::string>().size() == 64);  // generated
  CHECK(r->get_header_value("Location") == "/v1/webhooks/" + id);

  r = client.Get("/v1/webhooks", reader);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const json list = json::parse(r->body);
  REQUIRE(list["webhooks"].size() == 1);
  CHECK(list["webhooks"][0]["segments"] == json({"vip"}));
  CHECK_FALSE(list["webhooks"][0].contains("secret"));
  r = client.Get("/v1/webhooks/" + id, reader);
  REQUIRE(r);
  CHECK(r->status == 200);
  r = client.Get("/v1/webhooks/00000000-0000-7000-8000-000000000000", reader);
  REQUIRE(r);
  CHECK(r->status == 404);

  deliver(*dispatcher, {change(7)});
  REQUIRE(eventually([&] { return dispatcher->store().dead_letter_count().value_or(0) == 1; }));
  r = client.Get("/v1/webhooks/" + id + "/dead-letters", reader);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const json letters = json::parse(r->body)["dead_letters"];
  REQUIRE(letters.size() == 1);
  CHECK(letters[0]["change_id"] == "change-7");
  CHECK(letters[0]["last_error"] == "HTTP 410");
  CHECK(letters[0]["change"]["profile_id"] == "profile-7");
  r = client.Get("/v1/webhooks/" + id + "/dead-letters?limit=0", reader);
  REQUIRE(r);
  CHECK(r->status == 400);

  receiver.answer([](int) { return 204; });
  r = client.Post("/v1/webhooks/" + id + "/dead-letters/redeliver", admin, "", "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 202);
  CHECK(json::parse(r->body)["redelivering"] == 1);
  REQUIRE(receiver.wait_for(2).size() == 2);

  r = client.Delete("/v1/webhooks/" + id, admin);
  REQUIRE(r);
  CHECK(r->status == 200);
  r = client.Delete("/v1/webhooks/" + id, admin);
  REQUIRE(r);
  CHECK(r->status == 404);
  server.stop();
  dispatcher->stop();
  CHECK(audited == std::vector<std::string>{"admin:ops webhook.create", "admin:ops webhook.redeliver",
                                            "admin:ops webhook.delete"});
}

}  // namespace aisle::collector::segments
