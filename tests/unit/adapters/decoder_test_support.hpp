// Shared by the decoder tests: the real schema registry (every produced event must pass what the
// agent's ingest would check), recorded frame files, and small runners.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/event_json.hpp"
#include "common/event_validator.hpp"
#include "common/schema/registry.hpp"
#include "firmware_adapters/decoder.hpp"

namespace aisle::adapters::test {

inline const EventValidator& schema_validator() {
  static const EventValidator validator = [] {
    auto loaded = schema::Registry::load({std::string(AISLE_SCHEMAS_SOURCE_DIR)});
    if (!loaded) throw std::runtime_error(loaded.error().message);
    return EventValidator(std::make_shared<schema::RegistryHolder>(std::move(*loaded)),
                          EventValidatorOptions{});
  }();
  return validator;
}

// Round-trips the event through its JSON form and the full ingest check (envelope + schema).
inline void require_valid(const Event& event) {
  Event checked;
  std::vector<schema::ValidationError> errors;
  const std::string text = to_json_text(event);
  INFO("event " << text);
  const bool ok = schema_validator().check_text(text, checked, errors);
  INFO(join_errors(errors));
  REQUIRE(ok);
  CHECK(event.event_id.empty());
  CHECK(!event.received_at.has_value());
}

inline void require_all_valid(const DecodeOutput& out) {
  for (const Event& event : out.events) require_valid(event);
}

inline std::filesystem::path frames_dir(const std::string& device) {
  return std::filesystem::path(AISLE_TEST_DATA_DIR) / "frames" / device;
}

// The lines of a recorded frame file as frames (line numbers from 1, received_at fixed).
inline std::vector<Frame> read_frames(const std::filesystem::path& file,
                                      UnixMillis received_at = 1'764'339'000'000) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in.good());
  std::vector<Frame> frames;
  std::string line;
  std::uint64_t number = 0;
  while (std::getline(in, line)) {
    Frame frame;
    frame.bytes = line;
    frame.line = ++number;
    frame.received_at = received_at;
    frame.origin = "file:" + file.filename().string();
    frames.push_back(std::move(frame));
  }
  return frames;
}

inline Frame frame_of(std::string bytes, UnixMillis received_at = 1'764'339'000'000,
                      std::uint64_t line = 0) {
  Frame frame;
  frame.bytes = std::move(bytes);
  frame.received_at = received_at;
  frame.line = line;
  return frame;
}

inline DecodeOutput decode_all(Decoder& decoder, const std::vector<Frame>& frames) {
  DecodeOutput out;
  for (const Frame& frame : frames) decoder.decode(frame, out);
  return out;
}

inline DecoderPtr make_or_fail(std::string_view type, const nlohmann::json& options) {
  auto made = make_decoder(type, options, DecoderContext{"store-0042", "dev-1"});
  INFO((made ? std::string() : made.error().message));
  REQUIRE(made.ok());
  return std::move(*made);
}

}  // namespace aisle::adapters::test
