// EventFactory: valid in-store events with ids the test chose, made from the bundled examples
// (schemas/examples/*.json whose channel is kiosk, pos or sensor): event_id, occurred_at and
// source.store_id replaced, source.agent_id and received_at removed (the agent stamps them).
// The examples cover all three outbox priorities (purchase is critical, footfall and
// beacon_proximity are bulk, the rest normal).
//
// Thread-safe after construction (make() only reads).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace aisle::test {

class EventFactory {
 public:
  // Throws std::runtime_error when the examples cannot be read.
  EventFactory();

  // One event as compact JSON (no newline). `variant` picks the example (round robin).
  std::string make(const std::string& store_id, const std::string& event_id,
                   std::size_t variant = 0) const;
  // The example of `type` (any channel, web included) prepared like make() does, for
  // hand-made variants.
  nlohmann::json example(const std::string& type, const std::string& store_id,
                         const std::string& event_id) const;
  std::size_t variants() const { return templates_.size(); }

  static std::string examples_dir();

 private:
  // A dumped example split around the three substituted values.
  struct Template {
    std::string type;
    std::vector<std::string> parts;  // text between the placeholders
    std::vector<int> slots;          // which value follows parts[i]: 0 id, 1 time, 2 store
  };
  std::vector<Template> templates_;
  std::vector<nlohmann::json> examples_;
};

// NDJSON body: the lines joined with '\n' (with a trailing newline).
std::string ndjson(const std::vector<std::string>& lines);

}  // namespace aisle::test
