// AdapterSink: where an adapter runner hands what its decoder made. The agent implements it over
// its Ingest (validation, consent, outbox); tests capture. Adapters never see the agent.
//
// Called from the runner's one thread; implementations may block (deliver() blocks until the
// outbox commit) and must be thread-safe when several runners share one sink.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/event.hpp"
#include "common/result.hpp"
#include "firmware_adapters/decoder.hpp"

namespace aisle::adapters {

// What became of one delivered group of events.
struct DeliveryReport {
  std::uint32_t accepted = 0;      // committed
  std::uint32_t duplicates = 0;    // already stored; not an error
  std::uint32_t rejected = 0;      // invalid; the sink kept them as quarantine records itself
  std::uint32_t refused_full = 0;  // valid but refused for lack of space (outbox quota)
  // The commit itself failed (disk full, I/O): none of the group was stored; retrying may work.
  std::optional<Error> storage_error;
};

class AdapterSink {
 public:
  virtual ~AdapterSink() = default;
  // Decoded events of adapter `adapter`, in frame order.
  virtual DeliveryReport deliver(const std::string& adapter, std::vector<Event> events) = 0;
  // A frame that could not be (fully) decoded, kept with every reason for inspection.
  virtual Status keep_undecodable(const std::string& adapter, const Frame& frame,
                                  const std::vector<DecodeError>& errors) = 0;
};

}  // namespace aisle::adapters
