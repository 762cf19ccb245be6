// The JSON Schema of a segment definition (docs/segments.md). Kept in code so the collector and
// the fuzz target carry the same schema without a file to install.
#include <nlohmann/json.hpp>

#include "collector/segments/segment_definition.hpp"

namespace aisle::collector::segments {
namespace {

constexpr const char* kSchemaText = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:aisle:schema:segment_definition",
  "title": "Aisle segment definition",
  "type": "object",
  "required": ["condition"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "maxLength": 200},
    "description": {"type": "string", "maxLength": 2000},
    "condition": {"$ref": "#/$defs/condition"}
  },
  "$defs": {
    "duration": {"type": "string", "pattern": "^[1-9][0-9]{0,9}[smhd]$"},
    "comparison": {"enum": ["==", "!=", ">", ">=", "<", "<="]},
    "scalar": {"type": ["string", "number", "boolean"]},
    "property_path": {"type": "string", "minLength": 1, "maxLength": 200,
                      "pattern": "^(\\$(store_id|channel|agent_id|device_id)|[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*)$"},
    "event_type": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
    "predicate": {
      "type": "object",
      "required": ["property", "op"],
      "additionalProperties": false,
      "properties": {
        "property": {"$ref": "#/$defs/property_path"},
        "op": {"enum": ["==", "!=", ">", ">=", "<", "<=", "in", "exists"]},
        "value": {"anyOf": [{"$ref": "#/$defs/scalar"},
                            {"type": "array", "items": {"$ref": "#/$defs/scalar"}}]}
      }
    },
    "where": {"type": "array", "items": {"$ref": "#/$defs/predicate"}, "maxItems": 32},
    "window_test": {
      "type": "object",
      "required": ["event", "window", "op", "value"],
      "additionalProperties": false,
      "properties": {
        "event": {"$ref": "#/$defs/event_type"},
        "where": {"$ref": "#/$defs/where"},
        "window": {"$ref": "#/$defs/duration"},
        "op": {"$ref": "#/$defs/comparison"},
        "value": {"type": "number"}
      }
    },
    "aggregate_test": {
      "type": "object",
      "required": ["event", "property", "window", "op", "value"],
      "additionalProperties": false,
      "properties": {
        "event": {"$ref": "#/$defs/event_type"},
        "property": {"$ref": "#/$defs/property_path"},
        "where": {"$ref": "#/$defs/where"},
        "window": {"$ref": "#/$defs/duration"},
        "op": {"$ref": "#/$defs/comparison"},
        "value": {"type": "number"}
      }
    },
    "condition": {
      "type": "object",
      "minProperties": 1,
      "maxProperties": 1,
      "additionalProperties": false,
      "properties": {
        "all": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/condition"}},
        "any": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/condition"}},
        "not": {"$ref": "#/$defs/condition"},
        "count": {"$ref": "#/$defs/window_test"},
        "sum": {"$ref": "#/$defs/aggregate_test"},
        "avg": {"$ref": "#/$defs/aggregate_test"},
        "max": {"$ref": "#/$defs/aggregate_test"},
        "min": {"$ref": "#/$defs/aggregate_test"},
        "distinct": {"$ref": "#/$defs/aggregate_test"},
        "recency": {
          "type": "object",
          "required": ["event", "op", "value"],
          "additionalProperties": false,
          "properties": {
            "event": {"$ref": "#/$defs/event_type"},
            "where": {"$ref": "#/$defs/where"},
            "op": {"enum": [">", ">=", "<", "<="]},
            "value": {"$ref": "#/$defs/duration"},
            "if_never": {"type": "boolean"}
          }
        },
        "session": {
          "type": "object",
          "required": ["metric", "op", "value"],
          "additionalProperties": false,
          "properties": {
            "metric": {"enum": ["length_seconds", "events", "cart_items", "store", "zone"]},
            "op": {"enum": ["==", "!=", ">", ">=", "<", "<=", "in", "exists"]},
            "value": {"anyOf": [{"$ref": "#/$defs/scalar"},
                                {"type": "array", "items": {"$ref": "#/$defs/scalar"}}]}
          }
        },
        "trait": {
          "type": "object",
          "required": ["name", "op"],
          "additionalProperties": false,
          "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$"},
            "op": {"enum": ["==", "!=", ">", ">=", "<", "<=", "in", "exists"]},
            "value": {"anyOf": [{"$ref": "#/$defs/scalar"},
                                {"type": "array", "items": {"$ref": "#/$defs/scalar"}}]}
          }
        },
        "consent": {
          "type": "object",
          "required": ["purpose", "state"],
          "additionalProperties": false,
          "properties": {
            "purpose": {"enum": ["analytics", "personalization", "marketing"]},
            "state": {"enum": ["granted", "denied", "unknown"]}
          }
        },
        "segment": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"},
        "score": {
          "type": "object",
          "required": ["model", "op", "value"],
          "additionalProperties": false,
          "properties": {
            "model": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
            "op": {"$ref": "#/$defs/comparison"},
            "value": {"type": "number"}
          }
        }
      }
    }
  }
})json";

}  // namespace

const nlohmann::json& segment_definition_schema() {
  static const nlohmann::json schema = nlohmann::json::parse(kSchemaText);
  return schema;
}

}  // namespace aisle::collector::segments
