#include "agent/privacy/erasure.hpp"

#include <chrono>
#include <utility>

#include "common/log.hpp"
#include "common/pki/receipt_signing.hpp"

namespace aisle::agent {
namespace {

const log::Logger kLog("agent.erasure");

Error invalid(const std::string& erasure_id, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "erasure " + erasure_id + ": " + what);
}

}  // namespace

ErasureHandler::ErasureHandler(Outbox& outbox, AgentIdentity identity, ClockPtr clock,
                               metrics::Registry& registry, ErasureOptions options)
    : outbox_(outbox),
      identity_(std::move(identity)),
      clock_(clock ? std::move(clock) : SystemClock::instance()),
      options_(options),
      metrics_{
          registry.counter("aisle_agent_erasures_total", "Erasure requests, by result",
                           {{"result", "purged"}}),
          registry.counter("aisle_agent_erasures_total", "Erasure requests, by result",
                           {{"result", "repeated"}}),
          registry.counter("aisle_agent_erasures_total", "Erasure requests, by result",
                           {{"result", "failed"}}),
          registry.counter("aisle_agent_erasure_cache_entries_total",
                           "Local cache entries removed by erasure requests"),
      } {}

void ErasureHandler::add_cache_purger(CachePurger purger) {
  std::lock_guard lock(mutex_);
  purgers_.push_back(std::move(purger));
}

Result<wire::ErasureReceipt> ErasureHandler::handle(const wire::ErasureRequest& request) {
  std::lock_guard lock(mutex_);
  auto receipt = purge_and_sign(request);
  if (!receipt.ok()) {
    metrics_.failed.inc();
    // Identities are personal data: logged by count only.
    kLog.warn("erasure failed; the next delivery of the request retries",
              {{"erasure_id", request.erasure_id},
               {"identities", request.identities.size()},
               {"error", receipt.error().message}});
  }
  return receipt;
}

Result<wire::ErasureReceipt> ErasureHandler::purge_and_sign(const wire::ErasureRequest& request) {
  if (request.identities.empty()) return invalid(request.erasure_id, "no identities");
  if (request.identities.size() > options_.max_identities) {
    return invalid(request.erasure_id, std::to_string(request.identities.size()) +
                                           " identities, limit " +
                                           std::to_string(options_.max_identities));
  }
  auto known = outbox_.erasure_receipt(request.erasure_id);
  if (!known.ok()) return known.error();
  if (*known) {
    auto receipt = wire::decode_erasure_receipt(**known);
    if (!receipt.ok()) {
      return make_error(ErrorCode::kDataLoss,
                        "erasure " + request.erasure_id +
                            ": stored receipt unreadable: " + receipt.error().message);
    }
    metrics_.repeated.inc();
    kLog.info("erasure already handled: answering with the stored receipt",
              {{"erasure_id", request.erasure_id}});
    return receipt;
  }

  const auto started = std::chrono::steady_clock::now();
  auto purged = outbox_.purge_identities(request.erasure_id, request.identities);
  if (!purged.ok()) return purged.error();
  std::uint64_t cache_entries = 0;
  for (const auto& purger : purgers_) cache_entries += purger(request.identities);
  metrics_.cache_entries.inc(static_cast<double>(cache_entries));

  wire::ErasureReceipt receipt;
  receipt.erasure_id = request.erasure_id;
  receipt.tenant = identity_.tenant;
  receipt.store_id = identity_.store_id;
  receipt.agent_id = identity_.agent_id;
  receipt.events_purged = purged->events + purged->quarantine;
  receipt.cache_entries_purged = cache_entries;
  receipt.purged_at = clock_->now_unix_ms();
  auto signature = pki::sign_receipt(wire::signed_text(receipt), identity_.key_file);
  if (!signature.ok()) return signature.error();
  receipt.signature = std::move(*signature);
  auto certificate = pki::read_certificate_pem(identity_.cert_file);
  if (!certificate.ok()) return certificate.error();
  receipt.certificate = std::move(*certificate);

  if (auto s =
          outbox_.record_erasure_receipt(request.erasure_id, wire::encode_erasure_receipt(receipt));
      !s.ok()) {
    return s.error();
  }
  metrics_.handled.inc();
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
  kLog.info("erasure handled", {{"erasure_id", request.erasure_id},
                                {"identities", request.identities.size()},
                                {"events", purged->events},
                                {"quarantine", purged->quarantine},
                                {"cache_entries", cache_entries},
                                {"scanned", purged->scanned},
                                {"duration_ms", elapsed_ms}});
  return receipt;
}

}  // namespace aisle::agent
