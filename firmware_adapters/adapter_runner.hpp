// AdapterRunner: one configured adapter = a name + a Transport + a Decoder, feeding an
// AdapterSink.
//
// Frames from the transport's thread go into a bounded queue (a full queue blocks the transport:
// backpressure towards the device rather than loss). One worker thread decodes them in order (the
// decoder is not thread-safe), calls decoder->tick(now) about once a second, and hands events to
// the sink in groups (up to batch_max_events, or after batch_linger), so ingest commits a group
// per outbox transaction. Undecodable and oversize frames are kept through the sink with their
// reasons.
//
// stop(): the transport stops first (no new frames), then the worker decodes and delivers every
// frame already taken before it exits — nothing taken is lost. A group the sink refuses (full
// outbox) or cannot store (disk full, I/O error) is logged and counted as lost.
//
// Metrics (labels adapter=<name>): aisle_agent_adapter_frames_total,
// aisle_agent_adapter_decode_errors_total{reason}, aisle_agent_adapter_events_total,
// aisle_agent_adapter_events_lost_total{reason}, aisle_agent_adapter_transport_reconnects_total,
// aisle_agent_adapter_connected, aisle_agent_adapter_queue_frames.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "firmware_adapters/adapter_sink.hpp"
#include "firmware_adapters/decoder.hpp"
#include "firmware_adapters/transport.hpp"

namespace aisle::adapters {

struct RunnerOptions {
  std::size_t batch_max_events = 500;
  std::chrono::milliseconds batch_linger{5};  // measured on the injected clock's steady time
  std::chrono::milliseconds tick_interval{1000};
  std::size_t queue_max_frames = 10000;
};

// For /v1/status.
struct AdapterStatus {
  std::string name;
  std::string transport;  // Transport::describe()
  std::string state;      // "idle", "running", "waiting" (device/broker not there), "stopped"
  std::uint64_t frames = 0;
  std::uint64_t decode_errors = 0;
  std::uint64_t events = 0;
  std::uint64_t events_lost = 0;
  std::uint64_t reconnects = 0;
  std::string last_error;  // the transport's last I/O problem
};

class AdapterRunner {
 public:
  AdapterRunner(std::string name, TransportPtr transport, DecoderPtr decoder, AdapterSink& sink,
                const Clock& clock, metrics::Registry& metrics, RunnerOptions options = {});
  ~AdapterRunner();
  AdapterRunner(const AdapterRunner&) = delete;
  AdapterRunner& operator=(const AdapterRunner&) = delete;

  // Starts the worker, then the transport (a bind failure is returned, the worker stopped).
  Status start();
  // Idempotent; see the header comment. Blocks until every taken frame is delivered.
  void stop();

  const std::string& name() const { return name_; }
  AdapterStatus status() const;  // thread-safe

 private:
  void push(Frame&& frame);  // transport thread
  void run();                // worker thread
  void process(const Frame& frame);
  void handle(const Frame* frame, DecodeOutput& out);
  void flush();
  void sync_transport_stats();
  metrics::Counter& decode_error_counter(const std::string& reason);
  metrics::Counter& lost_counter(const std::string& reason);

  const std::string name_;
  TransportPtr transport_;
  DecoderPtr decoder_;
  AdapterSink& sink_;
  const Clock& clock_;
  metrics::Registry& metrics_;
  const RunnerOptions options_;

  std::mutex mutex_;
  std::condition_variable frames_ready_;
  std::condition_variable space_ready_;
  std::deque<Frame> queue_;
  bool stopping_ = false;
  bool worker_done_ = false;
  std::thread worker_;
  std::atomic<int> state_{0};  // 0 idle, 1 started, 2 stopped

  // Worker-thread state.
  DecodeOutput out_;
  std::vector<Event> batch_;
  std::chrono::steady_clock::time_point batch_started_{};
  std::chrono::steady_clock::time_point next_tick_{};
  std::uint64_t reconnects_seen_ = 0;
  std::map<std::string, metrics::Counter*, std::less<>> decode_errors_by_reason_;
  std::map<std::string, metrics::Counter*, std::less<>> lost_by_reason_;
  std::chrono::steady_clock::time_point next_loss_log_{};
  std::chrono::steady_clock::time_point next_error_log_{};

  metrics::Counter& frames_;
  metrics::Counter& events_;
  metrics::Counter& reconnects_;
  metrics::Gauge& connected_;
  metrics::Gauge& queue_frames_;
  std::atomic<std::uint64_t> decode_errors_total_{0};
  std::atomic<std::uint64_t> events_lost_total_{0};
};

}  // namespace aisle::adapters
