// SegmentDefinition: a segment's rule as a JSON document (docs/segments.md, "Definitions"),
// validated by its own JSON Schema and parsed into a condition tree the engine evaluates.
//
// This file depends only on aisle::common (the fuzz build compiles it on its own). It knows
// nothing of other segments or score models: references to them are checked by the engine when
// a definition is activated (cycles, unknown segments, unknown models).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

namespace aisle::collector::segments {

// Limits a definition must respect; every one is configurable (SegmentOptions).
struct DefinitionLimits {
  std::size_t max_bytes = 64 * 1024;        // JSON text of one definition
  std::size_t max_nodes = 256;              // condition nodes (all/any/not count too)
  std::size_t max_depth = 16;               // nesting of all/any/not
  std::int64_t max_window_ms = 90LL * 24 * 3600 * 1000;  // 90d
  std::size_t max_in_values = 256;          // values of one "in" predicate
};

enum class CompareOp : std::uint8_t { kEq, kNe, kGt, kGe, kLt, kLe, kIn, kExists };
const char* compare_op_name(CompareOp op);

// A test of one value: `<value> <op> <operand>`. Numbers compare numerically, strings by bytes;
// a value of another type than the operand never matches (except for != and exists).
struct Predicate {
  std::vector<std::string> path;  // property path, "campaign.source" -> {"campaign","source"};
                                  // "$store_id", "$channel", "$agent_id", "$device_id" are the
                                  // event's source fields
  CompareOp op = CompareOp::kEq;
  nlohmann::json operand;  // number, string, bool, or (for "in") an array of them
};
bool predicate_matches(const Predicate& predicate, const nlohmann::json* value);
// Compares a number with a numeric operand (op is not kIn/kExists).
bool compare_number(double value, CompareOp op, double operand);

// What a windowed feature aggregates.
enum class Aggregate : std::uint8_t { kCount, kSum, kAvg, kMax, kMin, kDistinct, kLast };
const char* aggregate_name(Aggregate aggregate);

// A per-profile quantity the engine keeps: events of one type matching `where`, aggregated over
// a sliding window (kLast: the time of the latest such event, for recency; no window).
struct FeatureSpec {
  std::string event_type;
  std::vector<Predicate> where;
  Aggregate aggregate = Aggregate::kCount;
  std::vector<std::string> property;  // aggregated property (sum/avg/max/min/distinct)
  std::int64_t window_ms = 0;         // 0 for kLast
  // Canonical text identifying the feature: equal specs share one state per profile.
  std::string key;
};

enum class NodeKind : std::uint8_t {
  kAll, kAny, kNot,
  kFeature,  // count/sum/avg/max/min/distinct compared with a number
  kRecency,  // time since the latest matching event compared with a duration
  kSession,  // current session state
  kTrait,    // profile trait from identify events
  kConsent,  // profile consent for a purpose
  kSegment,  // membership in another segment
  kScore,    // a learned score (ScoreProvider)
};

enum class SessionMetric : std::uint8_t { kLengthSeconds, kEvents, kCartItems, kStore, kZone };
const char* session_metric_name(SessionMetric metric);

struct Condition {
  NodeKind kind = NodeKind::kAll;
  std::string json_path;              // where it was written ("/condition/all/1"), for errors
  std::vector<Condition> children;    // all/any (>= 1), not (exactly 1)
  FeatureSpec feature;                // kFeature, kRecency
  CompareOp op = CompareOp::kGt;      // comparison of the node's value with `operand`
  nlohmann::json operand;             // number (feature, score, session numeric), string...
  double number = 0;                  // operand as a number when numeric (durations: ms)
  bool if_never = false;              // kRecency: value when no matching event is known
  SessionMetric session_metric = SessionMetric::kEvents;
  std::string name;                   // trait name, consent purpose, segment id, score model
  Predicate trait;                    // kTrait: path = {name}
  int purpose = 0;                    // kConsent: index in profiles::kPurposeNames
  std::string consent_state;          // kConsent: "granted" / "denied" / "unknown"
  // Filled by the engine when the version is activated.
  std::uint32_t slot = 0;             // feature index (kFeature/kRecency), segment slot
};

struct SegmentDefinition {
  std::string name;
  std::string description;
  Condition condition;
  nlohmann::json document;  // the definition as given (stored and returned by GET)

  // What it depends on (filled by the parser).
  std::vector<std::string> segment_refs;  // other segments (membership conditions)
  std::vector<std::string> score_models;
  bool uses_session = false;
  bool uses_traits = false;
  bool uses_consent = false;
};

// Parses a window/duration "30s", "15m", "24h", "7d" (positive integer + unit); nullopt when
// malformed.
std::optional<std::int64_t> parse_duration_ms(std::string_view text);

// The JSON Schema of a definition (draft 2020-12).
const nlohmann::json& segment_definition_schema();

// Validates against the schema, then checks what a schema cannot say (window limits, operand
// types per operator, sizes). Errors (kInvalidArgument) name the JSON path: "/condition/all/0/
// count/window: window 120d is longer than the limit 90d".
Result<SegmentDefinition> parse_segment_definition(const nlohmann::json& document,
                                                   const DefinitionLimits& limits = {});
// Same from JSON text (bounded parse).
Result<SegmentDefinition> parse_segment_definition_text(std::string_view text,
                                                        const DefinitionLimits& limits = {});

// Segment ids: [a-z0-9_-]{1,64}, and not the reserved "stream".
bool valid_segment_id(std::string_view id);

// Looks a property up along `path` in an event's properties; nullptr when absent.
const nlohmann::json* find_property(const nlohmann::json& properties,
                                    const std::vector<std::string>& path);

}  // namespace aisle::collector::segments
