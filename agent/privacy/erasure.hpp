// ErasureHandler: the agent's side of a right-to-erasure request (docs/privacy-erasure.md).
//
// The collector broadcasts an ErasureRequest (common/wire/privacy.hpp) with every identifier of
// the erased profile. handle() purges the agent's outbox of the person's events and quarantine
// records, asks each local cache to forget the identities, and answers with a receipt signed by
// the agent's mTLS key. Each erasure is handled once: the receipt is kept in the outbox's ledger,
// and a repeated broadcast (QoS 1 redelivery, a reconnect, the collector retrying agents that
// have not confirmed) is answered with the same receipt, without purging again.
//
// Thread-safety: handle() may be called from any thread; calls are serialized. It blocks for the
// purge (up to seconds for a full outbox: run it on a worker thread, never on the MQTT client's
// callback thread). Cache purgers are added before the first handle().
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "agent/outbox/outbox.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"
#include "common/wire/privacy.hpp"

namespace aisle::agent {

// Who this agent is, and the key pair it proves it with (the files of its MQTT client
// certificate, issued by `aislectl pki issue --kind agent`).
struct AgentIdentity {
  std::string tenant;
  std::string store_id;
  std::string agent_id;
  std::string key_file;   // PEM private key (EC P-256 or RSA)
  std::string cert_file;  // PEM certificate, CN agent:<store_id>:<agent_id>
};

struct ErasureOptions {
  // Identifiers accepted in one request (a profile has a handful; a request with more is refused
  // as malformed rather than scanned against).
  std::size_t max_identities = 1000;
};

class ErasureHandler {
 public:
  // Forgets the given identities ("type:value"); returns how many entries it removed.
  using CachePurger = std::function<std::size_t(const std::vector<std::string>& identities)>;

  ErasureHandler(Outbox& outbox, AgentIdentity identity, ClockPtr clock,
                 metrics::Registry& registry, ErasureOptions options = {});

  void add_cache_purger(CachePurger purger);

  // Purges and returns the signed receipt; for an erasure_id handled before, the stored receipt.
  // Errors: kInvalidArgument (a malformed request: nothing is purged), the outbox's errors, and
  // signing errors (key or certificate unreadable). After an error nothing is recorded as
  // handled; the next delivery of the request retries, and the receipt's counts then still
  // include what the failed attempt purged (the outbox keeps the running totals).
  Result<wire::ErasureReceipt> handle(const wire::ErasureRequest& request);

 private:
  struct Metrics {
    metrics::Counter& handled;
    metrics::Counter& repeated;
    metrics::Counter& failed;
    metrics::Counter& cache_entries;
  };
  Result<wire::ErasureReceipt> purge_and_sign(const wire::ErasureRequest& request);

  Outbox& outbox_;
  AgentIdentity identity_;
  ClockPtr clock_;
  ErasureOptions options_;
  Metrics metrics_;
  std::vector<CachePurger> purgers_;
  std::mutex mutex_;  // one erasure at a time
};

}  // namespace aisle::agent
