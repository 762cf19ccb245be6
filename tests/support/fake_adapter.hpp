// Fakes of the adapter interfaces (firmware_adapters/decoder.hpp, adapter_sink.hpp) for runner and
// transport tests: a decoder that turns each frame into one event (or a named error) and counts
// ticks, a sink that captures everything, and a FrameSink collector with waits.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "firmware_adapters/adapter_sink.hpp"
#include "firmware_adapters/decoder.hpp"

namespace aisle::test {

// "bad..." frames give a "malformed" error; "two:..." frames give two events; others one event of
// type "test" whose properties.bytes is the frame. Thread-checked: decode() and tick() must be
// called from one thread.
class FakeDecoder final : public adapters::Decoder {
 public:
  struct Shared {
    std::atomic<int> ticks{0};
    std::atomic<int> decoded{0};
    std::atomic<bool> wrong_thread{false};
    std::atomic<bool> emit_on_tick{false};
  };
  explicit FakeDecoder(Shared& shared) : shared_(shared) {}

  void decode(const adapters::Frame& frame, adapters::DecodeOutput& out) override {
    check_thread();
    ++shared_.decoded;
    if (frame.bytes.rfind("bad", 0) == 0) {
      out.errors.push_back({"malformed", "line " + std::to_string(frame.line) + ": bad frame"});
      return;
    }
    const int count = frame.bytes.rfind("two:", 0) == 0 ? 2 : 1;
    for (int i = 0; i < count; ++i) out.events.push_back(event_for(frame.bytes, frame.received_at));
  }
  void tick(UnixMillis now, adapters::DecodeOutput& out) override {
    check_thread();
    ++shared_.ticks;
    if (shared_.emit_on_tick) out.events.push_back(event_for("tick", now));
  }

 private:
  static Event event_for(const std::string& bytes, UnixMillis at) {
    Event e;
    e.type = "test";
    e.schema = "aisle/test/jsonschema/1-0-0";
    e.occurred_at = at;
    e.source.store_id = "store-1";
    e.source.channel = Channel::kSensor;
    e.source.device_id = "dev-1";
    e.properties = {{"bytes", bytes}};
    return e;
  }
  void check_thread() {
    if (owner_ == std::thread::id()) owner_ = std::this_thread::get_id();
    if (owner_ != std::this_thread::get_id()) shared_.wrong_thread = true;
  }
  Shared& shared_;
  std::thread::id owner_;
};

// Captures deliveries and undecodable frames; can pretend the outbox is full.
class CapturingAdapterSink final : public adapters::AdapterSink {
 public:
  adapters::DeliveryReport deliver(const std::string& adapter, std::vector<Event> group) override {
    std::lock_guard lock(mutex_);
    adapters::DeliveryReport report;
    if (refuse_full) {
      report.refused_full = static_cast<std::uint32_t>(group.size());
    } else {
      report.accepted = static_cast<std::uint32_t>(group.size());
      group_sizes.push_back(group.size());
      for (auto& e : group) events.push_back(std::move(e));
    }
    adapters_seen.push_back(adapter);
    changed_.notify_all();
    return report;
  }
  Status keep_undecodable(const std::string& adapter, const adapters::Frame& frame,
                          const std::vector<adapters::DecodeError>& errors) override {
    std::lock_guard lock(mutex_);
    (void)adapter;
    undecodable.push_back({frame, errors});
    changed_.notify_all();
    return ok_status();
  }
  bool wait_for(std::size_t events_count, std::size_t undecodable_count,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      return events.size() >= events_count && undecodable.size() >= undecodable_count;
    });
  }
  std::vector<std::string> event_bytes() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.properties.value("bytes", ""));
    return out;
  }

  struct Kept {
    adapters::Frame frame;
    std::vector<adapters::DecodeError> errors;
  };
  std::mutex mutex_;
  std::vector<Event> events;
  std::vector<std::size_t> group_sizes;
  std::vector<std::string> adapters_seen;
  std::vector<Kept> undecodable;
  bool refuse_full = false;

 private:
  std::condition_variable changed_;
};

// A FrameSink target for transport tests.
class FrameCollector {
 public:
  adapters::FrameSink sink() {
    return [this](adapters::Frame&& frame) {
      std::lock_guard lock(mutex_);
      frames_.push_back(std::move(frame));
      changed_.notify_all();
    };
  }
  bool wait_for(std::size_t count,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return frames_.size() >= count; });
  }
  std::vector<adapters::Frame> frames() {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& f : frames_) out.push_back(f.bytes);
    return out;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return frames_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<adapters::Frame> frames_;
};

}  // namespace aisle::test
