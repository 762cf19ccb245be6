#include "firmware_adapters/ble/ble_gateway_decoder.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/time_format.hpp"

namespace aisle::adapters {

using detail::excerpt;
using detail::FlatMember;

namespace {

constexpr std::array<std::string_view, 8> kZoneTypes = {
    "aisle", "department", "display", "checkout_queue", "fitting_room", "entrance",
    "service_desk", "other"};

bool hex_bytes(std::string_view hex, std::uint8_t* out, std::size_t n) {
  std::vector<std::uint8_t> bytes;
  if (!detail::decode_hex(hex, bytes, n) || bytes.size() != n) return false;
  std::copy(bytes.begin(), bytes.end(), out);
  return true;
}

// Writes the binary key of the advertisement's beacon into `buffer`; empty when none.
std::string_view key_of(const ble::Advertisement& adv, char (&buffer)[24]) {
  if (adv.kind == ble::BeaconKind::kIBeacon) {
    buffer[0] = 'I';
    std::copy(adv.ibeacon.uuid.begin(), adv.ibeacon.uuid.end(), buffer + 1);
    buffer[17] = static_cast<char>(adv.ibeacon.major >> 8);
    buffer[18] = static_cast<char>(adv.ibeacon.major & 0xFF);
    buffer[19] = static_cast<char>(adv.ibeacon.minor >> 8);
    buffer[20] = static_cast<char>(adv.ibeacon.minor & 0xFF);
    return {buffer, 21};
  }
  if (adv.kind == ble::BeaconKind::kEddystoneUid) {
    buffer[0] = 'E';
    std::copy(adv.uid.name_space.begin(), adv.uid.name_space.end(), buffer + 1);
    std::copy(adv.uid.instance.begin(), adv.uid.instance.end(), buffer + 11);
    return {buffer, 17};
  }
  return {};
}

}  // namespace

std::string ble_beacon_key(std::string_view text) {
  std::string key;
  if (text.starts_with("ibeacon:")) {
    text.remove_prefix(8);
    if (text.size() < 38 || text[36] != ':') return {};
    std::string uuid_hex;
    for (std::size_t k = 0; k < 36; ++k) {
      const bool dash = k == 8 || k == 13 || k == 18 || k == 23;
      if (dash != (text[k] == '-')) return {};
      if (!dash) uuid_hex.push_back(text[k]);
    }
    const std::string_view rest = text.substr(37);
    const std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return {};
    const auto major = detail::parse_int(rest.substr(0, colon));
    const auto minor = detail::parse_int(rest.substr(colon + 1));
    if (!major || !minor || *major < 0 || *major > 65535 || *minor < 0 || *minor > 65535) return {};
    key.resize(21);
    key[0] = 'I';
    if (!hex_bytes(uuid_hex, reinterpret_cast<std::uint8_t*>(key.data() + 1), 16)) return {};
    key[17] = static_cast<char>(*major >> 8);
    key[18] = static_cast<char>(*major & 0xFF);
    key[19] = static_cast<char>(*minor >> 8);
    key[20] = static_cast<char>(*minor & 0xFF);
    return key;
  }
  if (text.starts_with("eddystone:")) {
    text.remove_prefix(10);
    if (text.size() != 33 || text[20] != ':') return {};
    key.resize(17);
    key[0] = 'E';
    if (!hex_bytes(text.substr(0, 20), reinterpret_cast<std::uint8_t*>(key.data() + 1), 10) ||
        !hex_bytes(text.substr(21), reinterpret_cast<std::uint8_t*>(key.data() + 11), 6)) {
      return {};
    }
    return key;
  }
  return {};
}

Result<BleGatewayOptions> parse_ble_gateway_options(const nlohmann::json& json) {
  detail::OptionReader reader("ble_gateway", json);
  BleGatewayOptions options;
  if (const nlohmann::json* zones = reader.get_object("zones")) {
    if (zones->size() > 4096) reader.fail("zones", "more than 4096 beacons");
    for (const auto& [name, value] : zones->items()) {
      const std::string key = ble_beacon_key(name);
      if (key.empty()) {
        reader.fail("zones", "key '" + excerpt(name) +
                                 "' is not ibeacon:<uuid>:<major>:<minor> or "
                                 "eddystone:<namespace hex>:<instance hex>");
        continue;
      }
      BleZone zone;
      if (value.is_string()) {
        zone.zone_id = value.get<std::string>();
      } else if (value.is_object()) {
        for (const auto& [field, v] : value.items()) {
          if (field == "zone_id" && v.is_string()) {
            zone.zone_id = v.get<std::string>();
          } else if (field == "zone_type" && v.is_string() &&
                     std::find(kZoneTypes.begin(), kZoneTypes.end(), v.get<std::string>()) !=
                         kZoneTypes.end()) {
            zone.zone_type = v.get<std::string>();
          } else {
            reader.fail("zones", name + ": unknown key or bad value '" + field + "'");
          }
        }
      }
      if (zone.zone_id.empty() || zone.zone_id.size() > 64) {
        reader.fail("zones", name + ": zone_id must be a string of 1..64 bytes");
      }
      options.zones.emplace(key, std::move(zone));
    }
  }
  if (options.zones.empty()) reader.fail("zones", "required: map beacon -> zone");
  options.alpha = reader.get_double("alpha", options.alpha, 0.01, 1.0);
  options.enter_rssi = reader.get_double("enter_rssi", options.enter_rssi, -127, 20);
  options.exit_rssi = reader.get_double("exit_rssi", options.exit_rssi, -127, 20);
  if (!(options.exit_rssi < options.enter_rssi)) reader.fail("exit_rssi", "must be < enter_rssi");
  options.min_enter_ms = reader.get_int("min_enter_ms", options.min_enter_ms, 0, 3'600'000);
  options.min_exit_ms = reader.get_int("min_exit_ms", options.min_exit_ms, 0, 3'600'000);
  options.lost_ms = reader.get_int("lost_ms", options.lost_ms, 100, 3'600'000);
  options.path_loss_exponent =
      reader.get_double("path_loss_exponent", options.path_loss_exponent, 1.0, 6.0);
  options.max_beacons =
      static_cast<std::size_t>(reader.get_int("max_beacons", 1024, 1, 1'000'000));
  options.max_line_bytes =
      static_cast<std::size_t>(reader.get_int("max_line_bytes", 2048, 128, 1 << 20));
  if (auto status = reader.finish(); !status) return status.error();
  return options;
}

BleGatewayDecoder::BleGatewayDecoder(BleGatewayOptions options, DecoderContext context)
    : options_(std::move(options)), context_(std::move(context)) {}

void BleGatewayDecoder::decode(const Frame& frame, DecodeOutput& out) {
  auto fail = [&](std::string_view reason, std::string message) {
    out.errors.push_back(detail::make_error(frame, reason, message));
  };
  const auto line = detail::line_text(frame, options_.max_line_bytes, out);
  if (!line || line->empty()) return;
  const std::string_view text = *line;
  if (std::string error = detail::scan_flat_json(text, members_); !error.empty()) {
    return fail("malformed", error);
  }
  std::string_view ts, data, rssi_text;
  for (const FlatMember& m : members_) {
    if (m.key == "ts" || m.key == "timestamp") {
      ts = m.text;
    } else if (m.key == "data" || m.key == "rawData" || m.key == "raw") {
      data = m.text;
    } else if (m.key == "rssi") {
      if (m.kind != FlatMember::Kind::kNumber) return fail("malformed", "field 'rssi': not a number");
      rssi_text = m.text;
    }
  }
  if (data.data() == nullptr) return fail("malformed", "missing field 'data'");
  if (rssi_text.empty()) return fail("malformed", "missing field 'rssi'");
  const auto rssi = detail::parse_double(rssi_text);
  if (!rssi || *rssi < -127 || *rssi > 20) {
    return fail("out_of_range", "field 'rssi' must be in [-127, 20] dBm");
  }
  UnixMillis device_time = frame.received_at;
  if (ts.data() != nullptr) {
    const auto parsed = detail::parse_device_time(ts);
    if (!parsed) return fail("malformed", "field 'ts': not a timestamp: '" + excerpt(ts) + "'");
    device_time = *parsed;
  }
  if (!detail::decode_hex(data, payload_, 255)) {
    return fail("malformed", "field 'data': not hex of at most 255 bytes");
  }
  if (std::string error = ble::parse_advertisement(payload_, adv_); !error.empty()) {
    return fail("malformed", "field 'data': " + error);
  }
  char buffer[24];
  const std::string_view key = key_of(adv_, buffer);
  if (key.empty()) {
    ++stats_.not_beacon;
    return;
  }
  auto it = beacons_.find(key);
  if (it == beacons_.end()) {
    const auto zone = options_.zones.find(key);
    if (zone == options_.zones.end()) {
      ++stats_.unmapped;
      return;
    }
    if (beacons_.size() >= options_.max_beacons) evict_oldest(frame, out);
    Track track;
    track.zone = &zone->second;
    track.smoothed = *rssi;
    it = beacons_.emplace(std::string(key), track).first;
  } else {
    it->second.smoothed = options_.alpha * *rssi + (1 - options_.alpha) * it->second.smoothed;
  }
  Track& track = it->second;
  track.adv.kind = adv_.kind;
  track.adv.ibeacon = adv_.ibeacon;
  track.adv.uid = adv_.uid;
  track.tx_1m = adv_.kind == ble::BeaconKind::kIBeacon ? adv_.ibeacon.tx_power_1m
                                                        : ble::eddystone_tx_at_1m(adv_.uid.tx_power_0m);
  step(track, *rssi, frame.received_at, device_time, out);
}

void BleGatewayDecoder::step(Track& track, double rssi, UnixMillis rx, UnixMillis dev,
                             DecodeOutput& out) {
  (void)rssi;
  track.last_rx = std::max(track.last_rx, rx);
  track.last_dev = std::max(track.last_dev, dev);
  const bool across = track.inside ? track.smoothed < options_.exit_rssi
                                   : track.smoothed >= options_.enter_rssi;
  if (!across) {
    track.candidate_rx = -1;
    return;
  }
  if (track.candidate_rx < 0) {
    track.candidate_rx = rx;
    track.candidate_dev = dev;
  }
  if (!track.inside && rx - track.candidate_rx >= options_.min_enter_ms) {
    track.inside = true;
    track.entered_dev = track.candidate_dev;
    track.candidate_rx = -1;
    emit_transition(track, "enter", track.entered_dev, out);
  } else if (track.inside && rx - track.candidate_rx >= options_.min_exit_ms) {
    emit_exit(track, track.candidate_dev, out);
  }
}

void BleGatewayDecoder::tick(UnixMillis now, DecodeOutput& out) {
  for (auto it = beacons_.begin(); it != beacons_.end();) {
    Track& track = it->second;
    if (now - track.last_rx > options_.lost_ms) {
      if (track.inside) emit_exit(track, track.last_dev, out);
      it = beacons_.erase(it);  // silent beacons are forgotten: their next frame starts afresh
    } else {
      ++it;
    }
  }
}

void BleGatewayDecoder::evict_oldest(const Frame& frame, DecodeOutput& out) {
  auto oldest = std::min_element(beacons_.begin(), beacons_.end(), [](const auto& a, const auto& b) {
    return a.second.last_rx < b.second.last_rx;
  });
  ++stats_.beacons_evicted;
  out.errors.push_back(detail::make_error(
      frame, "evicted",
      "more than max_beacons " + std::to_string(options_.max_beacons) +
          ": forgot the least recently heard beacon of zone '" + oldest->second.zone->zone_id +
          "'"));
  beacons_.erase(oldest);
}

void BleGatewayDecoder::emit_transition(const Track& track, const char* transition, UnixMillis at,
                                        DecodeOutput& out) {
  Event event = detail::make_event("beacon_proximity", Channel::kSensor, context_, at);
  nlohmann::json& p = event.properties;
  if (track.adv.kind == ble::BeaconKind::kIBeacon) {
    p["beacon"] = {{"uuid", ble::uuid_text(track.adv.ibeacon.uuid)},
                   {"major", track.adv.ibeacon.major},
                   {"minor", track.adv.ibeacon.minor}};
  } else {
    std::string name_space, instance;
    detail::append_hex(name_space, track.adv.uid.name_space.data(), 10);
    detail::append_hex(instance, track.adv.uid.instance.data(), 6);
    p["eddystone"] = {{"namespace", name_space}, {"instance", instance}};
  }
  const int rssi = static_cast<int>(std::clamp(std::lround(track.smoothed), -127L, 20L));
  const int tx = std::clamp(track.tx_1m, -127, 20);
  const double distance = std::clamp(
      std::pow(10.0, (tx - track.smoothed) / (10.0 * options_.path_loss_exponent)), 0.0, 1000.0);
  p["zone_id"] = track.zone->zone_id;
  p["rssi"] = rssi;
  p["tx_power"] = tx;
  p["distance_m"] = std::round(distance * 100.0) / 100.0;
  p["proximity"] = distance < 0.5 ? "immediate" : distance < 4.0 ? "near" : "far";
  p["transition"] = transition;
  out.events.push_back(std::move(event));
}

void BleGatewayDecoder::emit_exit(Track& track, UnixMillis exited_dev, DecodeOutput& out) {
  track.inside = false;
  track.candidate_rx = -1;
  exited_dev = std::max(exited_dev, track.entered_dev);
  emit_transition(track, "exit", exited_dev, out);
  Event dwell = detail::make_event("dwell", Channel::kSensor, context_, exited_dev);
  nlohmann::json& p = dwell.properties;
  p["zone_id"] = track.zone->zone_id;
  if (!track.zone->zone_type.empty()) p["zone_type"] = track.zone->zone_type;
  p["entered_at"] = format_rfc3339_ms(track.entered_dev);
  p["exited_at"] = format_rfc3339_ms(exited_dev);
  p["seconds"] = std::min(static_cast<double>(exited_dev - track.entered_dev) / 1000.0, 86400.0);
  p["detector"] = "ble";
  out.events.push_back(std::move(dwell));
}

}  // namespace aisle::adapters
