// Small runtime pieces: metrics rendering, backoff, config values, logging.
#include <catch2/catch.hpp>

#include "common/backoff.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

#include <set>

TEST_CASE("metrics render in the Prometheus text format", "[common][metrics]") {
  aisle::metrics::Registry registry;
  registry.counter("aisle_test_events_total", "Events", {{"priority", "bulk"}}).inc(3);
  registry.counter("aisle_test_events_total", "Events", {{"priority", "critical"}}).inc();
  registry.gauge("aisle_test_backlog_events", "Backlog").set(42);
  registry.gauge_callback("aisle_test_age_seconds", "Age", {{"q", "a\"b"}}, [] { return 1.5; });
  auto& h = registry.histogram("aisle_test_latency_seconds", "Latency", {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = registry.render();
  CHECK_THAT(text, Catch::Contains("# TYPE aisle_test_events_total counter\n"));
  CHECK_THAT(text, Catch::Contains("aisle_test_events_total{priority=\"bulk\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("aisle_test_backlog_events 42\n"));
  CHECK_THAT(text, Catch::Contains("aisle_test_age_seconds{q=\"a\\\"b\"} 1.5\n"));
  CHECK_THAT(text, Catch::Contains("aisle_test_latency_seconds_bucket{le=\"0.1\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("aisle_test_latency_seconds_bucket{le=\"1\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("aisle_test_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("aisle_test_latency_seconds_count 3\n"));
  CHECK(registry.value("aisle_test_events_total", {{"priority", "bulk"}}) == 3);
  CHECK(h.quantile(0.5) == Approx(0.55).margin(0.5));
}

TEST_CASE("full-jitter backoff stays within an exponentially growing, capped ceiling",
          "[common][backoff]") {
  aisle::Backoff backoff(std::chrono::milliseconds(100), std::chrono::milliseconds(5000), 42);
  std::int64_t expected_ceiling = 100;
  for (int i = 0; i < 20; ++i) {
    CHECK(backoff.ceiling_ms() == std::min<std::int64_t>(expected_ceiling, 5000));
    const auto delay = backoff.next();
    CHECK(delay.count() >= 0);
    CHECK(delay.count() <= std::min<std::int64_t>(expected_ceiling, 5000));
    expected_ceiling *= 2;
  }
  backoff.reset();
  CHECK(backoff.ceiling_ms() == 100);
  // Jitter: many agents do not pick the same delay.
  std::set<std::int64_t> delays;
  for (int seed = 0; seed < 50; ++seed) {
    aisle::Backoff b(std::chrono::milliseconds(1000), std::chrono::milliseconds(60000), seed);
    for (int i = 0; i < 5; ++i) b.next();
    delays.insert(b.next().count());
  }
  CHECK(delays.size() > 40);
}

TEST_CASE("config durations and sizes accept units and integers", "[common][config]") {
  using nlohmann::json;
  CHECK(aisle::parse_duration_ms(json("250ms")) == 250);
  CHECK(aisle::parse_duration_ms(json("30s")) == 30000);
  CHECK(aisle::parse_duration_ms(json("7d")) == 7 * 86400000LL);
  CHECK(aisle::parse_duration_ms(json(1500)) == 1500);
  CHECK_FALSE(aisle::parse_duration_ms(json("5 weeks")));
  CHECK(aisle::parse_size_bytes(json("64KiB")) == 65536);
  CHECK(aisle::parse_size_bytes(json("1GiB")) == 1073741824LL);
  CHECK_FALSE(aisle::parse_size_bytes(json("-1")));
}

TEST_CASE("a config with comments is validated and typos are named by path",
          "[common][config]") {
  const nlohmann::json schema = nlohmann::json::parse(R"({
    "type": "object", "additionalProperties": false, "required": ["mqtt"],
    "properties": {"mqtt": {"type": "object", "additionalProperties": false,
      "required": ["ca_file"], "properties": {"ca_file": {"type": "string"},
      "port": {"type": "integer"}}}}})");
  auto ok = aisle::parse_config_text("// comment\n{\"mqtt\": {\"ca_file\": \"x\" /* inline */}}",
                                     "agent.json", schema);
  REQUIRE(ok);
  auto bad = aisle::parse_config_text("{\"mqtt\": {\"port\": \"1883\", \"cafile\": \"x\"}}",
                                      "agent.json", schema);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("/mqtt/ca_file: required property is missing"));
  CHECK_THAT(bad.error().message, Catch::Contains("/mqtt/port"));
  CHECK_THAT(bad.error().message, Catch::Contains("cafile"));
  auto syntax = aisle::parse_config_text("{\"mqtt\": {", "agent.json", schema);
  REQUIRE_FALSE(syntax);
  CHECK_THAT(syntax.error().message, Catch::StartsWith("agent.json: "));
}

TEST_CASE("log lines are logfmt or JSON with escaped fields", "[common][log]") {
  std::vector<std::string> lines;
  aisle::log::set_sink([&lines](std::string_view line) { lines.emplace_back(line); });
  const aisle::log::Logger logger("test.module");
  logger.warn("disk almost full", {{"path", "/var/lib/a b"}, {"free_bytes", 1024}, {"ok", false}});
  logger.debug("not shown at info");
  aisle::log::set_format(aisle::log::Format::kJson);
  logger.error("quote \" inside", {{"n", 3}});
  aisle::log::set_format(aisle::log::Format::kLogfmt);
  aisle::log::set_sink(nullptr);
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[0], Catch::Contains("level=warn logger=test.module msg=\"disk almost full\" "
                                       "path=\"/var/lib/a b\" free_bytes=1024 ok=false"));
  const auto parsed = nlohmann::json::parse(lines[1]);
  CHECK(parsed["msg"] == "quote \" inside");
  CHECK(parsed["n"] == 3);
  CHECK(parsed["level"] == "error");
}
