#include "agent/privacy/erasure_listener.hpp"

#include "common/log.hpp"
#include "common/wire/privacy.hpp"

namespace aisle::agent {
namespace {

const log::Logger kLog("agent.erasure");

}  // namespace

ErasureListener::ErasureListener(ErasureHandler& handler, Uplink& uplink,
                                 wire::AgentAddress address, metrics::Registry& metrics,
                                 std::size_t max_queued)
    : handler_(handler),
      uplink_(uplink),
      address_(std::move(address)),
      max_queued_(max_queued),
      refused_(metrics.counter("aisle_agent_erasure_requests_refused_total",
                               "Erasure broadcasts that could not be read")),
      overflow_(metrics.counter(
          "aisle_agent_erasure_requests_deferred_total",
          "Erasure broadcasts not queued because the queue was full (the collector repeats them)")),
      receipts_sent_(metrics.counter("aisle_agent_erasure_receipts_total",
                                     "Erasure receipts by outcome", {{"outcome", "published"}})),
      receipts_unsent_(metrics.counter("aisle_agent_erasure_receipts_total",
                                       "Erasure receipts by outcome",
                                       {{"outcome", "unpublished"}})) {}

ErasureListener::~ErasureListener() { stop(); }

void ErasureListener::attach() {
  uplink_.subscribe(wire::broadcast_topic(address_.tenant, "erasure"),
                    [this](std::string payload) { on_message(std::move(payload)); });
  worker_ = std::thread([this] { work(); });
}

void ErasureListener::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ErasureListener::on_message(std::string payload) {
  auto request = wire::decode_erasure_request(payload);
  if (!request) {
    refused_.inc();
    kLog.warn("unreadable erasure request", {{"error", request.error().message}});
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queued_) {
      overflow_.inc();
      kLog.warn("erasure queue full; the collector will repeat the request",
                {{"erasure_id", request->erasure_id}});
      return;
    }
    queue_.push_back(std::move(*request));
  }
  wake_.notify_one();
}

void ErasureListener::work() {
  const std::string receipt_topic = wire::uplink_topic(address_, "erasure_receipt");
  while (true) {
    wire::ErasureRequest request;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      request = std::move(queue_.front());
      queue_.pop_front();
    }
    auto receipt = handler_.handle(request);
    if (!receipt) {
      kLog.error("erasure failed; retried when the collector repeats it",
                 {{"erasure_id", request.erasure_id}, {"error", receipt.error().message}});
      continue;
    }
    if (auto status = uplink_.publish(receipt_topic, wire::encode_erasure_receipt(*receipt));
        !status) {
      receipts_unsent_.inc();
      kLog.warn("cannot publish erasure receipt now; sent again when the collector repeats",
                {{"erasure_id", request.erasure_id}, {"error", status.error().message}});
      continue;
    }
    receipts_sent_.inc();
    kLog.info("erasure handled", {{"erasure_id", request.erasure_id},
                                  {"events_purged", receipt->events_purged},
                                  {"cache_entries_purged", receipt->cache_entries_purged}});
  }
}

}  // namespace aisle::agent
