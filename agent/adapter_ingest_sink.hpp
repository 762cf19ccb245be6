// AdapterIngestSink: the agent's AdapterSink — decoded events of firmware adapters go through the
// same Ingest as HTTP input (validation, stamping, outbox), and undecodable frames become
// quarantine records. Origin in metrics and quarantine: "adapter:<name>".
//
// Thread-safe (Ingest is); shared by every adapter runner of the agent.
#pragma once

#include "agent/ingest/ingest.hpp"
#include "firmware_adapters/adapter_sink.hpp"

namespace aisle::agent {

class AdapterIngestSink final : public adapters::AdapterSink {
 public:
  explicit AdapterIngestSink(Ingest& ingest) : ingest_(ingest) {}

  adapters::DeliveryReport deliver(const std::string& adapter, std::vector<Event> events) override;
  Status keep_undecodable(const std::string& adapter, const adapters::Frame& frame,
                          const std::vector<adapters::DecodeError>& errors) override;

 private:
  Ingest& ingest_;
};

}  // namespace aisle::agent
