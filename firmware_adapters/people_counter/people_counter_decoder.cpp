#include "firmware_adapters/people_counter/people_counter_decoder.hpp"

#include <algorithm>
#include <utility>

namespace aisle::adapters {

using detail::excerpt;
using detail::FlatMember;

Result<PeopleCounterOptions> parse_people_counter_options(const nlohmann::json& json) {
  detail::OptionReader reader("people_counter", json);
  PeopleCounterOptions options;
  options.interval_seconds = reader.get_int("interval_seconds", options.interval_seconds, 1, 86400);
  options.max_line_bytes =
      static_cast<std::size_t>(reader.get_int("max_line_bytes", 4096, 64, 1 << 20));
  options.max_doors = static_cast<std::size_t>(reader.get_int("max_doors", 256, 1, 65536));
  options.max_count = reader.get_int("max_count", options.max_count, 1, 1'000'000'000);
  if (auto status = reader.finish(); !status) return status.error();
  return options;
}

PeopleCounterDecoder::PeopleCounterDecoder(PeopleCounterOptions options, DecoderContext context)
    : options_(options), context_(std::move(context)) {}

std::int64_t PeopleCounterDecoder::door_net(std::string_view door) const {
  const auto it = doors_.find(door);
  return it == doors_.end() ? 0 : it->second.net;
}

bool PeopleCounterDecoder::parse_line(std::string_view text, Report& report, std::string& error) {
  // <ts>,<door>,key=value,...
  std::size_t field = 0;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view token = text.substr(0, comma);
    if (field == 0) {
      report.ts = token;
    } else if (field == 1) {
      report.door = token;
    } else {
      const std::size_t eq = token.find('=');
      if (eq == std::string_view::npos) {
        error = "field " + std::to_string(field + 1) + " '" + excerpt(token) + "' is not key=value";
        return false;
      }
      const std::string_view key = token.substr(0, eq);
      const std::string_view value = token.substr(eq + 1);
      std::string_view* slot = key == "in"         ? &report.in
                               : key == "out"      ? &report.out
                               : key == "interval" ? &report.interval
                                                   : nullptr;
      if (slot == nullptr) {
        error = "unknown key '" + excerpt(key) + "' in field " + std::to_string(field + 1);
        return false;
      }
      if (slot->data() != nullptr) {
        error = "duplicate key '" + std::string(key) + "'";
        return false;
      }
      *slot = value;
    }
    ++field;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;  // missing fields are named by emit()
}

bool PeopleCounterDecoder::parse_json(std::string_view text, Report& report, std::string& error) {
  error = detail::scan_flat_json(text, members_);
  if (!error.empty()) return false;
  for (const FlatMember& m : members_) {
    std::string_view* slot = nullptr;
    if (m.key == "ts" || m.key == "timestamp") {
      slot = &report.ts;
    } else if (m.key == "door" || m.key == "door_id") {
      slot = &report.door;
    } else if (m.key == "in") {
      slot = &report.in;
    } else if (m.key == "out") {
      slot = &report.out;
    } else if (m.key == "interval") {
      slot = &report.interval;
    } else {
      continue;  // vendors add fields (firmware version, battery); they carry nothing we use
    }
    if (slot->data() != nullptr) {
      error = "field '" + std::string(m.key) + "' given twice";
      return false;
    }
    const bool want_string = slot == &report.ts || slot == &report.door;
    const bool ok = m.kind == FlatMember::Kind::kString ||
                    (m.kind == FlatMember::Kind::kNumber && slot != &report.door);
    if (!ok || (!want_string && m.kind != FlatMember::Kind::kNumber)) {
      error = "field '" + std::string(m.key) + "' has the wrong type";
      return false;
    }
    *slot = m.text;
  }
  return true;
}

// <count ts="..." door="..." in="1" out="2" [interval="60"]/>, attributes in any order, single or
// double quotes, the five predefined entities. Anything else (other elements, children, comments,
// numeric character references, unknown attributes) is refused.
bool PeopleCounterDecoder::parse_xml(std::string_view text, Report& report, std::string& error) {
  constexpr std::string_view kOpen = "<count";
  if (text.substr(0, kOpen.size()) != kOpen) {
    error = "XML frame must be a <count .../> element";
    return false;
  }
  std::size_t i = kOpen.size();
  auto at = [&](std::string_view what) {
    return "XML: expected " + std::string(what) + " at byte " + std::to_string(i);
  };
  int slot_index = 0;
  while (true) {
    const std::size_t before = i;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (text.substr(i) == "/>") break;
    if (i == before) {
      error = at("whitespace or '/>'");
      return false;
    }
    const std::size_t name_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view name = text.substr(name_start, i - name_start);
    std::string_view* slot = name == "ts"         ? &report.ts
                             : name == "door"     ? &report.door
                             : name == "in"       ? &report.in
                             : name == "out"      ? &report.out
                             : name == "interval" ? &report.interval
                                                  : nullptr;
    if (slot == nullptr) {
      error = "XML: unknown attribute '" + excerpt(name) + "'";
      return false;
    }
    if (slot->data() != nullptr) {
      error = "XML: duplicate attribute '" + std::string(name) + "'";
      return false;
    }
    if (i >= text.size() || text[i] != '=') {
      error = at("'='");
      return false;
    }
    ++i;
    if (i >= text.size() || (text[i] != '"' && text[i] != '\'')) {
      error = at("a quoted value");
      return false;
    }
    const char quote = text[i++];
    const std::size_t value_start = i;
    while (i < text.size() && text[i] != quote) {
      if (text[i] == '<') {
        error = at("no '<' in an attribute value");
        return false;
      }
      ++i;
    }
    if (i >= text.size()) {
      error = at("closing quote");
      return false;
    }
    const std::string_view raw = text.substr(value_start, i - value_start);
    ++i;
    if (raw.find('&') == std::string_view::npos) {
      *slot = raw;
    } else {
      std::string& scratch = xml_scratch_[slot_index++ % 5];
      scratch.clear();
      for (std::size_t k = 0; k < raw.size(); ++k) {
        if (raw[k] != '&') {
          scratch.push_back(raw[k]);
          continue;
        }
        const std::size_t semi = raw.find(';', k);
        const std::string_view entity =
            semi == std::string_view::npos ? std::string_view() : raw.substr(k, semi - k + 1);
        const char c = entity == "&amp;"    ? '&'
                       : entity == "&lt;"   ? '<'
                       : entity == "&gt;"   ? '>'
                       : entity == "&quot;" ? '"'
                       : entity == "&apos;" ? '\''
                                            : '\0';
        if (c == '\0') {
          error = "XML: unsupported entity in attribute '" + std::string(name) + "'";
          return false;
        }
        scratch.push_back(c);
        k = semi;
      }
      *slot = scratch;
    }
  }
  return true;
}

void PeopleCounterDecoder::decode(const Frame& frame, DecodeOutput& out) {
  const auto line = detail::line_text(frame, options_.max_line_bytes, out);
  if (!line || line->empty()) return;  // too long (an error), or a keep-alive blank line
  const std::string_view text = *line;
  Report report;
  std::string error;
  bool ok = false;
  if (text.front() == '{') {
    ok = parse_json(text, report, error);
  } else if (text.front() == '<') {
    ok = parse_xml(text, report, error);
  } else {
    ok = parse_line(text, report, error);
  }
  if (!ok) {
    out.errors.push_back(detail::make_error(frame, "malformed", error));
    return;
  }
  emit(frame, report, out);
}

void PeopleCounterDecoder::emit(const Frame& frame, const Report& report, DecodeOutput& out) {
  auto fail = [&](std::string_view reason, std::string message) {
    out.errors.push_back(detail::make_error(frame, reason, message));
  };
  for (const auto& [name, value] : {std::pair<const char*, std::string_view>{"ts", report.ts},
                                    {"door", report.door},
                                    {"in", report.in},
                                    {"out", report.out}}) {
    if (value.data() == nullptr) return fail("malformed", std::string("missing field '") + name + "'");
  }
  const auto occurred_at = detail::parse_device_time(report.ts);
  if (!occurred_at) return fail("malformed", "field 'ts': not a timestamp: '" + excerpt(report.ts) + "'");
  if (report.door.empty() || report.door.size() > 64) {
    return fail("out_of_range", "field 'door': length must be 1..64");
  }
  if (!detail::valid_utf8(report.door)) return fail("malformed", "field 'door': not UTF-8");
  const auto in = detail::parse_int(report.in);
  const auto outs = detail::parse_int(report.out);
  if (!in || !outs) {
    return fail("malformed", std::string("field '") + (in ? "out" : "in") +
                                 "': not an integer: '" + excerpt(in ? report.out : report.in) + "'");
  }
  if (*in < 0 || *in > options_.max_count || *outs < 0 || *outs > options_.max_count) {
    return fail("out_of_range", "fields 'in'/'out' must be in [0, max_count " +
                                    std::to_string(options_.max_count) + "]");
  }
  std::int64_t interval = options_.interval_seconds;
  if (report.interval.data() != nullptr) {
    const auto parsed = detail::parse_int(report.interval);
    if (!parsed || *parsed < 1 || *parsed > 86400) {
      return fail("out_of_range", "field 'interval': must be an integer in [1, 86400]");
    }
    interval = *parsed;
  }

  auto it = doors_.find(report.door);
  if (it == doors_.end()) {
    if (doors_.size() >= options_.max_doors) {
      auto oldest = std::min_element(doors_.begin(), doors_.end(), [](const auto& a, const auto& b) {
        return a.second.last_seen < b.second.last_seen;
      });
      ++stats_.doors_evicted;
      out.errors.push_back(detail::make_error(
          frame, "evicted",
          "more than max_doors " + std::to_string(options_.max_doors) + ": forgot door '" +
              excerpt(oldest->first) + "'"));
      doors_.erase(oldest);
    }
    it = doors_.emplace(std::string(report.door), DoorState{}).first;
  }
  it->second.net += *in - *outs;
  it->second.last_seen = ++sequence_;
  occupancy_ += *in - *outs;
  if (occupancy_ < 0) {
    occupancy_ = 0;
    ++stats_.occupancy_clamped;
  }

  Event event = detail::make_event("footfall", Channel::kSensor, context_, *occurred_at);
  nlohmann::json& p = event.properties;
  detail::put_sorted(p, "door_id", report.door);
  detail::put_sorted(p, "in", *in);
  detail::put_sorted(p, "interval_seconds", interval);
  detail::put_sorted(p, "occupancy", occupancy_);
  detail::put_sorted(p, "out", *outs);
  out.events.push_back(std::move(event));
}

}  // namespace aisle::adapters
