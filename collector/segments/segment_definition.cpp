#include "collector/segments/segment_definition.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "common/json_text.hpp"
#include "common/schema/validator.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;

Error bad(const std::string& path, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, (path.empty() ? "/" : path) + ": " + message);
}

std::optional<CompareOp> parse_op(const std::string& text) {
  if (text == "==") return CompareOp::kEq;
  if (text == "!=") return CompareOp::kNe;
  if (text == ">") return CompareOp::kGt;
  if (text == ">=") return CompareOp::kGe;
  if (text == "<") return CompareOp::kLt;
  if (text == "<=") return CompareOp::kLe;
  if (text == "in") return CompareOp::kIn;
  if (text == "exists") return CompareOp::kExists;
  return std::nullopt;
}

bool is_ordering(CompareOp op) {
  return op == CompareOp::kGt || op == CompareOp::kGe || op == CompareOp::kLt ||
         op == CompareOp::kLe;
}

std::vector<std::string> split_path(const std::string& text) {
  std::vector<std::string> parts;
  if (!text.empty() && text[0] == '$') return {text};
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string join_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path) {
    if (!out.empty()) out += '.';
    out += p;
  }
  return out;
}

// Checks an operator against its operand: ordering needs a number or a string, "in" an array,
// "exists" nothing, ==/!= a scalar.
Status check_operand(const std::string& path, CompareOp op, const json* operand,
                     const DefinitionLimits& limits) {
  if (op == CompareOp::kExists) {
    if (operand) return bad(path + "/value", "operator exists takes no value");
    return ok_status();
  }
  if (!operand) return bad(path + "/value", "missing value for operator " + std::string(compare_op_name(op)));
  if (op == CompareOp::kIn) {
    if (!operand->is_array()) return bad(path + "/value", "operator in needs an array of values");
    if (operand->empty()) return bad(path + "/value", "operator in needs at least one value");
    if (operand->size() > limits.max_in_values) {
      return bad(path + "/value", "operator in has " + std::to_string(operand->size()) +
                                      " values, limit " + std::to_string(limits.max_in_values));
    }
    return ok_status();
  }
  if (operand->is_array()) {
    return bad(path + "/value", "an array is only allowed with operator in");
  }
  if (is_ordering(op) && !operand->is_number() && !operand->is_string()) {
    return bad(path + "/value", "operator " + std::string(compare_op_name(op)) +
                                    " needs a number or a string");
  }
  return ok_status();
}

struct Parser {
  const DefinitionLimits& limits;
  SegmentDefinition& out;
  std::size_t nodes = 0;

  Result<std::int64_t> window(const json& spec, const std::string& path) {
    const std::string text = spec.at("window").get<std::string>();
    auto ms = parse_duration_ms(text);
    if (!ms) return bad(path + "/window", "malformed window '" + text + "'");
    if (*ms > limits.max_window_ms) {
      return bad(path + "/window", "window " + text + " is longer than the limit of " +
                                       std::to_string(limits.max_window_ms / 1000) + " s");
    }
    return *ms;
  }

  Result<std::vector<Predicate>> where(const json& spec, const std::string& path) {
    std::vector<Predicate> predicates;
    auto it = spec.find("where");
    if (it == spec.end()) return predicates;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& p = (*it)[i];
      const std::string ppath = path + "/where/" + std::to_string(i);
      Predicate predicate;
      predicate.path = split_path(p.at("property").get<std::string>());
      predicate.op = *parse_op(p.at("op").get<std::string>());
      auto value = p.find("value");
      const json* operand = value == p.end() ? nullptr : &*value;
      if (auto s = check_operand(ppath, predicate.op, operand, limits); !s) return s.error();
      if (operand) predicate.operand = *operand;
      predicates.push_back(std::move(predicate));
    }
    return predicates;
  }

  static std::string feature_key(const FeatureSpec& f) {
    json where = json::array();
    for (const auto& p : f.where) {
      where.push_back({join_path(p.path), compare_op_name(p.op), p.operand});
    }
    json key = {f.event_type, aggregate_name(f.aggregate), join_path(f.property), f.window_ms,
                std::move(where)};
    return key.dump();
  }

  Status numeric_test(const json& spec, const std::string& path, Condition& node) {
    node.op = *parse_op(spec.at("op").get<std::string>());
    node.operand = spec.at("value");
    node.number = node.operand.get<double>();
    if (!std::isfinite(node.number)) return bad(path + "/value", "value must be finite");
    return ok_status();
  }

  Status parse(const json& c, const std::string& path, std::size_t depth, Condition& node) {
    if (++nodes > limits.max_nodes) {
      return bad(path, "definition has more than " + std::to_string(limits.max_nodes) +
                           " condition nodes");
    }
    if (depth > limits.max_depth) {
      return bad(path, "conditions nested deeper than " + std::to_string(limits.max_depth));
    }
    const std::string& key = c.begin().key();
    const json& spec = c.begin().value();
    const std::string here = path + "/" + key;
    node.json_path = here;
    if (key == "all" || key == "any") {
      node.kind = key == "all" ? NodeKind::kAll : NodeKind::kAny;
      node.children.resize(spec.size());
      for (std::size_t i = 0; i < spec.size(); ++i) {
        if (auto s = parse(spec[i], here + "/" + std::to_string(i), depth + 1, node.children[i]);
            !s) {
          return s;
        }
      }
      return ok_status();
    }
    if (key == "not") {
      node.kind = NodeKind::kNot;
      node.children.resize(1);
      return parse(spec, here, depth + 1, node.children[0]);
    }
    if (key == "count" || key == "sum" || key == "avg" || key == "max" || key == "min" ||
        key == "distinct") {
      node.kind = NodeKind::kFeature;
      FeatureSpec& f = node.feature;
      f.event_type = spec.at("event").get<std::string>();
      f.aggregate = key == "count"   ? Aggregate::kCount
                    : key == "sum"   ? Aggregate::kSum
                    : key == "avg"   ? Aggregate::kAvg
                    : key == "max"   ? Aggregate::kMax
                    : key == "min"   ? Aggregate::kMin
                                     : Aggregate::kDistinct;
      if (key != "count") f.property = split_path(spec.at("property").get<std::string>());
      auto w = window(spec, here);
      if (!w) return w.error();
      f.window_ms = *w;
      auto preds = where(spec, here);
      if (!preds) return preds.error();
      f.where = std::move(*preds);
      f.key = feature_key(f);
      return numeric_test(spec, here, node);
    }
    if (key == "recency") {
      node.kind = NodeKind::kRecency;
      FeatureSpec& f = node.feature;
      f.event_type = spec.at("event").get<std::string>();
      f.aggregate = Aggregate::kLast;
      auto preds = where(spec, here);
      if (!preds) return preds.error();
      f.where = std::move(*preds);
      f.key = feature_key(f);
      node.op = *parse_op(spec.at("op").get<std::string>());
      node.operand = spec.at("value");
      auto ms = parse_duration_ms(node.operand.get<std::string>());
      if (!ms) return bad(here + "/value", "malformed duration");
      node.number = static_cast<double>(*ms);
      node.if_never = spec.value("if_never", false);
      return ok_status();
    }
    if (key == "session") {
      node.kind = NodeKind::kSession;
      out.uses_session = true;
      const std::string metric = spec.at("metric").get<std::string>();
      node.session_metric = metric == "length_seconds" ? SessionMetric::kLengthSeconds
                            : metric == "events"       ? SessionMetric::kEvents
                            : metric == "cart_items"   ? SessionMetric::kCartItems
                            : metric == "store"        ? SessionMetric::kStore
                                                       : SessionMetric::kZone;
      node.op = *parse_op(spec.at("op").get<std::string>());
      auto value = spec.find("value");
      const json* operand = value == spec.end() ? nullptr : &*value;
      if (auto s = check_operand(here, node.op, operand, limits); !s) return s;
      const bool textual =
          node.session_metric == SessionMetric::kStore || node.session_metric == SessionMetric::kZone;
      if (!textual && node.op != CompareOp::kExists && node.op != CompareOp::kIn &&
          !operand->is_number()) {
        return bad(here + "/value", "session metric " + metric + " needs a numeric value");
      }
      if (operand) {
        node.operand = *operand;
        if (operand->is_number()) node.number = operand->get<double>();
      }
      return ok_status();
    }
    if (key == "trait") {
      node.kind = NodeKind::kTrait;
      out.uses_traits = true;
      node.name = spec.at("name").get<std::string>();
      node.trait.path = {node.name};
      node.trait.op = *parse_op(spec.at("op").get<std::string>());
      auto value = spec.find("value");
      const json* operand = value == spec.end() ? nullptr : &*value;
      if (auto s = check_operand(here, node.trait.op, operand, limits); !s) return s;
      if (operand) node.trait.operand = *operand;
      return ok_status();
    }
    if (key == "consent") {
      node.kind = NodeKind::kConsent;
      out.uses_consent = true;
      const std::string purpose = spec.at("purpose").get<std::string>();
      node.name = purpose;
      node.purpose = purpose == "analytics" ? 0 : purpose == "personalization" ? 1 : 2;
      node.consent_state = spec.at("state").get<std::string>();
      return ok_status();
    }
    if (key == "segment") {
      node.kind = NodeKind::kSegment;
      node.name = spec.get<std::string>();
      if (!valid_segment_id(node.name)) {
        return bad(here, "'" + node.name + "' is not a valid segment id");
      }
      if (std::find(out.segment_refs.begin(), out.segment_refs.end(), node.name) ==
          out.segment_refs.end()) {
        out.segment_refs.push_back(node.name);
      }
      return ok_status();
    }
    if (key == "score") {
      node.kind = NodeKind::kScore;
      node.name = spec.at("model").get<std::string>();
      if (std::find(out.score_models.begin(), out.score_models.end(), node.name) ==
          out.score_models.end()) {
        out.score_models.push_back(node.name);
      }
      return numeric_test(spec, here, node);
    }
    return bad(here, "unknown condition '" + key + "'");  // the schema refuses it first
  }
};

const schema::CompiledSchema& compiled_schema() {
  static const schema::CompiledSchemaPtr compiled = [] {
    auto r = schema::CompiledSchema::compile(segment_definition_schema());
    // The schema is part of the program: failing to compile it is a bug, caught by every test.
    if (!r) std::abort();
    return *r;
  }();
  return *compiled;
}

}  // namespace

const char* compare_op_name(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "==";
    case CompareOp::kNe: return "!=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kIn: return "in";
    case CompareOp::kExists: return "exists";
  }
  return "?";
}

const char* aggregate_name(Aggregate aggregate) {
  switch (aggregate) {
    case Aggregate::kCount: return "count";
    case Aggregate::kSum: return "sum";
    case Aggregate::kAvg: return "avg";
    case Aggregate::kMax: return "max";
    case Aggregate::kMin: return "min";
    case Aggregate::kDistinct: return "distinct";
    case Aggregate::kLast: return "last";
  }
  return "?";
}

const char* session_metric_name(SessionMetric metric) {
  switch (metric) {
    case SessionMetric::kLengthSeconds: return "length_seconds";
    case SessionMetric::kEvents: return "events";
    case SessionMetric::kCartItems: return "cart_items";
    case SessionMetric::kStore: return "store";
    case SessionMetric::kZone: return "zone";
  }
  return "?";
}

bool compare_number(double value, CompareOp op, double operand) {
  switch (op) {
    case CompareOp::kEq: return value == operand;
    case CompareOp::kNe: return value != operand;
    case CompareOp::kGt: return value > operand;
    case CompareOp::kGe: return value >= operand;
    case CompareOp::kLt: return value < operand;
    case CompareOp::kLe: return value <= operand;
    default: return false;
  }
}

namespace {

// One scalar against one scalar operand, for == != < <= > >=.
bool compare_scalar(const json& value, CompareOp op, const json& operand) {
  if (value.is_number() && operand.is_number()) {
    return compare_number(value.get<double>(), op, operand.get<double>());
  }
  if (value.is_string() && operand.is_string()) {
    const auto& a = value.get_ref<const std::string&>();
    const auto& b = operand.get_ref<const std::string&>();
    const int c = a.compare(b);
    switch (op) {
      case CompareOp::kEq: return c == 0;
      case CompareOp::kNe: return c != 0;
      case CompareOp::kGt: return c > 0;
      case CompareOp::kGe: return c >= 0;
      case CompareOp::kLt: return c < 0;
      case CompareOp::kLe: return c <= 0;
      default: return false;
    }
  }
  if (value.is_boolean() && operand.is_boolean()) {
    if (op == CompareOp::kEq) return value == operand;
    if (op == CompareOp::kNe) return value != operand;
    return false;
  }
  return op == CompareOp::kNe;  // values of different types are unequal
}

}  // namespace

bool predicate_matches(const Predicate& predicate, const json* value) {
  if (predicate.op == CompareOp::kExists) return value != nullptr && !value->is_null();
  if (value == nullptr) return predicate.op == CompareOp::kNe;
  if (predicate.op == CompareOp::kIn) {
    for (const auto& candidate : predicate.operand) {
      if (compare_scalar(*value, CompareOp::kEq, candidate)) return true;
    }
    return false;
  }
  return compare_scalar(*value, predicate.op, predicate.operand);
}

const json* find_property(const json& properties, const std::vector<std::string>& path) {
  const json* at = &properties;
  for (const auto& part : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(part);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  if (text.size() < 2 || text.size() > 11) return std::nullopt;
  std::int64_t n = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    n = n * 10 + (text[i] - '0');
  }
  if (n <= 0) return std::nullopt;
  switch (text.back()) {
    case 's': return n * 1000;
    case 'm': return n * 60 * 1000;
    case 'h': return n * 3600 * 1000;
    case 'd': return n * 24 * 3600 * 1000;
    default: return std::nullopt;
  }
}

bool valid_segment_id(std::string_view id) {
  if (id.empty() || id.size() > 64 || id == "stream") return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  });
}

Result<SegmentDefinition> parse_segment_definition(const json& document,
                                                   const DefinitionLimits& limits) {
  std::vector<schema::ValidationError> errors;
  if (!compiled_schema().validate(document, &errors)) {
    std::string message;
    for (std::size_t i = 0; i < errors.size() && i < 5; ++i) {
      if (i) message += "; ";
      message += schema::to_string(errors[i]);
    }
    if (errors.size() > 5) message += "; and " + std::to_string(errors.size() - 5) + " more";
    return make_error(ErrorCode::kInvalidArgument, message);
  }
  SegmentDefinition def;
  def.name = document.value("name", "");
  def.description = document.value("description", "");
  Parser parser{limits, def};
  if (auto s = parser.parse(document.at("condition"), "/condition", 0, def.condition); !s) {
    return s.error();
  }
  def.document = document;
  return def;
}

Result<SegmentDefinition> parse_segment_definition_text(std::string_view text,
                                                        const DefinitionLimits& limits) {
  auto parsed = parse_json(text, JsonLimits{limits.max_bytes, limits.max_depth * 4 + 16});
  if (!parsed) return parsed.error();
  return parse_segment_definition(*parsed, limits);
}

}  // namespace aisle::collector::segments
