#include "firmware_adapters/adapter_runner.hpp"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

#include "tests/support/fake_adapter.hpp"

namespace aisle::adapters {
namespace {

using namespace std::chrono_literals;

// A transport the test pushes frames through by hand (on the test's thread).
class PushTransport final : public Transport {
 public:
  Status start(FrameSink sink) override {
    if (fail_start) return make_error(ErrorCode::kUnavailable, "bind: Address already in use");
    sink_ = std::move(sink);
    stats_.connected = true;
    return ok_status();
  }
  void stop() override {
    ++stops;
    stats_.connected = false;
  }
  std::string describe() const override { return "push:test"; }
  TransportStats stats() const override {
    std::lock_guard lock(mutex_);
    return stats_;
  }
  void push(std::string bytes, bool truncated = false) {
    Frame frame;
    frame.bytes = std::move(bytes);
    frame.origin = "push";
    frame.line = ++line_;
    frame.truncated = truncated;
    sink_(std::move(frame));
  }
  void reconnected() {
    std::lock_guard lock(mutex_);
    ++stats_.reconnects;
  }
  bool fail_start = false;
  int stops = 0;

 private:
  FrameSink sink_;
  mutable std::mutex mutex_;
  TransportStats stats_;
  std::uint64_t line_ = 0;
};

struct Rig {
  explicit Rig(RunnerOptions options = {}, const Clock* clock_in = nullptr) {
    auto t = std::make_unique<PushTransport>();
    transport = t.get();
    const Clock& clock = clock_in ? *clock_in : *system_clock;
    runner = std::make_unique<AdapterRunner>("door-main", std::move(t),
                                             std::make_unique<test::FakeDecoder>(shared), sink,
                                             clock, metrics, options);
  }
  double metric(const std::string& name, const metrics::Labels& labels) const {
    return metrics.value(name, labels);
  }
  ClockPtr system_clock = SystemClock::instance();
  test::FakeDecoder::Shared shared;
  test::CapturingAdapterSink sink;
  metrics::Registry metrics;
  PushTransport* transport = nullptr;
  std::unique_ptr<AdapterRunner> runner;
};

}  // namespace

TEST_CASE("runner decodes frames in order and delivers their events in groups",
          "[adapters][runner]") {
  RunnerOptions options;
  options.batch_max_events = 100;
  options.batch_linger = 50ms;
  Rig rig(options);
  REQUIRE(rig.runner->start());
  for (int i = 0; i < 250; ++i) rig.transport->push("frame-" + std::to_string(i));
  REQUIRE(rig.sink.wait_for(250, 0));
  const auto bytes = rig.sink.event_bytes();
  for (int i = 0; i < 250; ++i) REQUIRE(bytes[i] == "frame-" + std::to_string(i));
  {
    std::lock_guard lock(rig.sink.mutex_);
    // Grouped: far fewer deliveries than frames, none above the maximum.
    REQUIRE(rig.sink.group_sizes.size() < 50);
    for (auto size : rig.sink.group_sizes) REQUIRE(size <= 100);
    REQUIRE(rig.sink.adapters_seen.front() == "door-main");
  }
  rig.runner->stop();
  REQUIRE_FALSE(rig.shared.wrong_thread);
  REQUIRE(rig.metric("aisle_agent_adapter_frames_total", {{"adapter", "door-main"}}) == 250);
  REQUIRE(rig.metric("aisle_agent_adapter_events_total", {{"adapter", "door-main"}}) == 250);
}

TEST_CASE("runner keeps undecodable and oversize frames with their reasons, and counts them",
          "[adapters][runner]") {
  Rig rig;
  REQUIRE(rig.runner->start());
  rig.transport->push("good");
  rig.transport->push("bad frame");
  rig.transport->push(std::string(16, 'x'), true);
  rig.transport->push("two:events");
  REQUIRE(rig.sink.wait_for(3, 2));
  rig.runner->stop();
  {
    std::lock_guard lock(rig.sink.mutex_);
    REQUIRE(rig.sink.undecodable[0].frame.bytes == "bad frame");
    REQUIRE(rig.sink.undecodable[0].frame.line == 2);
    REQUIRE(rig.sink.undecodable[0].errors[0].reason == "malformed");
    REQUIRE(rig.sink.undecodable[1].errors[0].reason == "oversize");
  }
  REQUIRE(rig.shared.decoded == 3);  // the oversize frame never reached the decoder
  const AdapterStatus status = rig.runner->status();
  REQUIRE(status.state == "stopped");
  REQUIRE(status.frames == 4);
  REQUIRE(status.decode_errors == 2);
  REQUIRE(status.events == 3);
  REQUIRE(rig.metric("aisle_agent_adapter_decode_errors_total",
                     {{"adapter", "door-main"}, {"reason", "malformed"}}) == 1);
  REQUIRE(rig.metric("aisle_agent_adapter_decode_errors_total",
                     {{"adapter", "door-main"}, {"reason", "oversize"}}) == 1);
}

TEST_CASE("runner stop delivers every frame it took before returning", "[adapters][runner]") {
  RunnerOptions options;
  options.batch_linger = 10s;  // nothing would leave by time before stop
  options.batch_max_events = 1000000;
  Rig rig(options);
  REQUIRE(rig.runner->start());
  for (int i = 0; i < 5000; ++i) rig.transport->push("f" + std::to_string(i));
  rig.runner->stop();
  REQUIRE(rig.transport->stops == 1);
  REQUIRE(rig.sink.event_bytes().size() == 5000);
  rig.runner->stop();  // idempotent
  REQUIRE(rig.transport->stops == 1);
}

TEST_CASE("runner with a small queue blocks the transport instead of dropping frames",
          "[adapters][runner]") {
  RunnerOptions options;
  options.queue_max_frames = 4;
  options.batch_linger = 0ms;
  Rig rig(options);
  REQUIRE(rig.runner->start());
  for (int i = 0; i < 2000; ++i) rig.transport->push("f" + std::to_string(i));
  rig.runner->stop();
  REQUIRE(rig.sink.event_bytes().size() == 2000);
}

TEST_CASE("runner ticks the decoder about once a second on the injected clock",
          "[adapters][runner]") {
  ManualClock clock;
  RunnerOptions options;
  options.batch_linger = 0ms;
  Rig rig(options, &clock);
  rig.shared.emit_on_tick = true;
  REQUIRE(rig.runner->start());
  std::this_thread::sleep_for(250ms);
  REQUIRE(rig.shared.ticks == 0);  // the clock has not moved
  clock.advance(1s);
  REQUIRE(rig.sink.wait_for(1, 0, 2s));
  REQUIRE(rig.shared.ticks == 1);
  clock.advance(1s);
  REQUIRE(rig.sink.wait_for(2, 0, 2s));
  rig.runner->stop();
  REQUIRE(rig.shared.ticks == 2);
  REQUIRE(rig.sink.events[0].occurred_at == clock.now_unix_ms() - 1000);
  REQUIRE_FALSE(rig.shared.wrong_thread);
}

TEST_CASE("runner counts events refused for a full outbox and transport reconnects",
          "[adapters][runner]") {
  ManualClock clock;
  RunnerOptions options;
  options.batch_linger = 0ms;
  Rig rig(options, &clock);
  rig.sink.refuse_full = true;
  REQUIRE(rig.runner->start());
  rig.transport->push("a");
  rig.transport->push("b");
  rig.transport->reconnected();
  clock.advance(1s);
  std::this_thread::sleep_for(300ms);
  rig.runner->stop();
  REQUIRE(rig.metric("aisle_agent_adapter_events_lost_total",
                     {{"adapter", "door-main"}, {"reason", "outbox_full"}}) == 2);
  REQUIRE(rig.runner->status().events_lost == 2);
  REQUIRE(rig.metric("aisle_agent_adapter_transport_reconnects_total",
                     {{"adapter", "door-main"}}) == 1);
}

TEST_CASE("runner start reports a transport that cannot start, naming it", "[adapters][runner]") {
  Rig rig;
  rig.transport->fail_start = true;
  const Status status = rig.runner->start();
  REQUIRE_FALSE(status);
  REQUIRE(status.error().message == "push:test: bind: Address already in use");
}

}  // namespace aisle::adapters
