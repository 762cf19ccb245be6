#include "firmware_adapters/rfid/rfid_shelf_decoder.hpp"

#include <algorithm>
#include <utility>

#include "firmware_adapters/rfid/sgtin96.hpp"

namespace aisle::adapters {

using detail::excerpt;
using detail::FlatMember;

Result<RfidShelfOptions> parse_rfid_shelf_options(const nlohmann::json& json) {
  detail::OptionReader reader("rfid_shelf", json);
  RfidShelfOptions options;
  if (const nlohmann::json* antennas = reader.get_object("antennas")) {
    for (const auto& [key, value] : antennas->items()) {
      const auto port = detail::parse_int(key);
      if (!port || *port < 0 || *port > 255) {
        reader.fail("antennas", "key '" + excerpt(key) + "' is not an antenna port 0..255");
      } else if (!value.is_string() || value.get_ref<const std::string&>().empty() ||
                 value.get_ref<const std::string&>().size() > 64) {
        reader.fail("antennas", "antenna " + key + ": shelf id must be a string of 1..64 bytes");
      } else {
        options.antennas[static_cast<int>(*port)] = value.get<std::string>();
      }
    }
  }
  if (options.antennas.empty()) reader.fail("antennas", "required: map antenna port -> shelf_id");
  if (const nlohmann::json* products = reader.get_object("products")) {
    if (products->size() > 100000) reader.fail("products", "more than 100000 entries");
    for (const auto& [gtin, sku] : products->items()) {
      if (gtin.size() != 14 || !std::all_of(gtin.begin(), gtin.end(), ::isdigit)) {
        reader.fail("products", "key '" + excerpt(gtin) + "' is not a GTIN-14");
      } else if (!sku.is_string() || sku.get_ref<const std::string&>().empty() ||
                 sku.get_ref<const std::string&>().size() > 64) {
        reader.fail("products", gtin + ": sku must be a string of 1..64 bytes");
      } else {
        options.products[gtin] = sku.get<std::string>();
      }
    }
  }
  options.absent_ms = reader.get_int("absent_ms", options.absent_ms, 100, 86'400'000);
  options.max_tags = static_cast<std::size_t>(reader.get_int("max_tags", 10000, 1, 10'000'000));
  options.max_line_bytes =
      static_cast<std::size_t>(reader.get_int("max_line_bytes", 1024, 64, 1 << 20));
  if (auto status = reader.finish(); !status) return status.error();
  return options;
}

RfidShelfDecoder::RfidShelfDecoder(RfidShelfOptions options, DecoderContext context)
    : options_(std::move(options)), context_(std::move(context)) {}

void RfidShelfDecoder::decode(const Frame& frame, DecodeOutput& out) {
  auto fail = [&](std::string_view reason, std::string message) {
    out.errors.push_back(detail::make_error(frame, reason, message));
  };
  const auto line = detail::line_text(frame, options_.max_line_bytes, out);
  if (!line || line->empty()) return;
  const std::string_view text = *line;
  std::string_view ts, epc, antenna_text, rssi;
  if (text.front() == '{') {
    if (std::string error = detail::scan_flat_json(text, members_); !error.empty()) {
      return fail("malformed", error);
    }
    for (const FlatMember& m : members_) {
      if (m.key == "ts" || m.key == "timestamp") {
        ts = m.text;
      } else if (m.key == "epc") {
        epc = m.text;
      } else if (m.key == "antenna") {
        antenna_text = m.text;
      } else if (m.key == "rssi") {
        rssi = m.text;
      }
    }
  } else {
    std::string_view rest = text;
    std::string_view* fields[] = {&ts, &epc, &antenna_text, &rssi};
    std::size_t n = 0;
    while (true) {
      const std::size_t comma = rest.find(',');
      if (n == 4) return fail("malformed", "more than 4 fields (ts,epc,antenna,rssi)");
      *fields[n++] = rest.substr(0, comma);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (n < 3) return fail("malformed", "expected ts,epc,antenna[,rssi], got " +
                                            std::to_string(n) + " fields");
  }
  if (epc.empty()) return fail("malformed", "missing field 'epc'");
  if (antenna_text.empty()) return fail("malformed", "missing field 'antenna'");
  UnixMillis device_time = frame.received_at;
  if (!ts.empty()) {
    const auto parsed = detail::parse_device_time(ts);
    if (!parsed) return fail("malformed", "field 'ts': not a timestamp: '" + excerpt(ts) + "'");
    device_time = *parsed;
  }
  const auto antenna = detail::parse_int(antenna_text);
  if (!antenna) return fail("malformed", "field 'antenna': not an integer");
  if (!rssi.empty() && !detail::parse_double(rssi)) {
    return fail("malformed", "field 'rssi': not a number");
  }
  const auto shelf = options_.antennas.find(static_cast<int>(std::clamp<std::int64_t>(*antenna, -1, 256)));
  if (shelf == options_.antennas.end()) {
    return fail("unmapped", "antenna " + std::to_string(*antenna) + " has no shelf in 'antennas'");
  }
  epc_upper_.assign(epc);
  for (char& c : epc_upper_) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  auto it = tags_.find(epc_upper_);
  if (it == tags_.end()) {
    std::string error;
    if (!rfid::decode_sgtin96(epc_upper_, &error)) {
      return fail("unsupported_epc", "field 'epc' '" + excerpt(epc) + "': " + error);
    }
    if (tags_.size() >= options_.max_tags) evict_oldest(frame, out);
    Tag tag;
    tag.shelf = &shelf->second;
    tag.antenna = shelf->first;
    tag.last_rx = frame.received_at;
    tag.last_device = device_time;
    tags_.emplace(epc_upper_, tag);
    return;
  }
  Tag& tag = it->second;
  if (!tag.present) {
    tag.present = true;
    tag.shelf = &shelf->second;
    tag.antenna = shelf->first;
    tag.last_rx = frame.received_at;
    tag.last_device = device_time;
    emit(it->first, tag, "putback", device_time, out);
    return;
  }
  if (*tag.shelf != shelf->second) return;  // overlapping read zone of a neighbouring shelf
  tag.antenna = shelf->first;
  tag.last_rx = std::max(tag.last_rx, frame.received_at);
  tag.last_device = std::max(tag.last_device, device_time);
}

void RfidShelfDecoder::tick(UnixMillis now, DecodeOutput& out) {
  for (auto& [epc, tag] : tags_) {
    if (tag.present && now - tag.last_rx > options_.absent_ms) {
      tag.present = false;
      emit(epc, tag, "pickup", tag.last_device + (now - tag.last_rx), out);
      tag.last_rx = now;  // the eviction order keeps picked-up tags by when they left
    }
  }
}

void RfidShelfDecoder::evict_oldest(const Frame& frame, DecodeOutput& out) {
  // Picked-up tags go first (they are the likeliest never to come back), then the oldest read.
  auto oldest = std::min_element(tags_.begin(), tags_.end(), [](const auto& a, const auto& b) {
    if (a.second.present != b.second.present) return !a.second.present;
    return a.second.last_rx < b.second.last_rx;
  });
  ++stats_.tags_evicted;
  out.errors.push_back(detail::make_error(
      frame, "evicted",
      "more than max_tags " + std::to_string(options_.max_tags) + ": forgot tag " + oldest->first));
  tags_.erase(oldest);
}

void RfidShelfDecoder::emit(const std::string& epc, const Tag& tag, std::string_view action,
                            UnixMillis at, DecodeOutput& out) {
  const auto sgtin = rfid::decode_sgtin96(epc);
  if (!sgtin) return;  // only decodable tags are tracked
  Event event = detail::make_event("shelf_pickup", Channel::kSensor, context_, at);
  nlohmann::json& p = event.properties;
  const std::string gtin = sgtin->gtin14();
  p["shelf_id"] = *tag.shelf;
  p["antenna"] = tag.antenna;
  if (const auto sku = options_.products.find(gtin); sku != options_.products.end()) {
    p["sku"] = sku->second;
  }
  p["gtin"] = gtin;
  p["serial"] = std::to_string(sgtin->serial);
  p["action"] = action;
  p["quantity"] = 1;
  p["detector"] = "rfid";
  out.events.push_back(std::move(event));
}

}  // namespace aisle::adapters
