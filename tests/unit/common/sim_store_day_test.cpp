// The store simulator: seeded determinism, the GS1 and Apple encodings against their
// specifications' own examples, and a simulated store hour decoded by the real decoders (built
// from the same options devenv writes into the agents' configs) into valid events of every kind.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "common/event_json.hpp"
#include "common/event_validator.hpp"
#include "common/schema/registry.hpp"
#include "common/sim/agent_devices.hpp"
#include "common/sim/catalog.hpp"
#include "common/sim/device_formats.hpp"
#include "common/sim/store_day.hpp"
#include "firmware_adapters/decoder.hpp"

namespace aisle::sim {
namespace {

constexpr UnixMillis kWallStart = 1'764'417'600'000;  // 2025-11-29T12:00:00Z

const EventValidator& validator() {
  static const EventValidator instance = [] {
    auto loaded = schema::Registry::load({std::string(AISLE_SCHEMAS_SOURCE_DIR)});
    if (!loaded) throw std::runtime_error(loaded.error().message);
    return EventValidator(std::make_shared<schema::RegistryHolder>(std::move(*loaded)),
                          EventValidatorOptions{});
  }();
  return instance;
}

StoreDayOptions day_options(std::uint64_t seed, double speed) {
  StoreDayOptions options;
  options.seed = seed;
  options.store_id = "store-7";
  options.loyalty_key = "0123456789abcdef0123456789abcdef";
  options.speed = speed;
  options.wall_start = kWallStart;
  return options;
}

std::vector<SimOutput> run_for(const Catalog& catalog, const StoreDayOptions& options,
                               UnixMillis wall_ms) {
  StoreDay day(catalog, options);
  std::vector<SimOutput> out;
  for (UnixMillis t = kWallStart; t <= kWallStart + wall_ms; t += 250) day.advance_to(t, out);
  return out;
}

}  // namespace

TEST_CASE("the same seeds give the same frames, another store seed other frames", "[sim]") {
  const Catalog catalog = build_catalog({});
  const auto a = run_for(catalog, day_options(5, 10), 60'000);
  const auto b = run_for(catalog, day_options(5, 10), 60'000);
  const auto c = run_for(catalog, day_options(6, 10), 60'000);
  REQUIRE(a.size() > 1000);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].payload == b[i].payload);
    REQUIRE(a[i].wall_ms == b[i].wall_ms);
  }
  std::vector<std::string> pa, pc;
  for (const auto& o : a) pa.push_back(o.payload);
  for (const auto& o : c) pc.push_back(o.payload);
  CHECK(pa != pc);
  // Outputs come in time order, none before the start (the warm-up is silent).
  for (std::size_t i = 1; i < a.size(); ++i) REQUIRE(a[i - 1].wall_ms <= a[i].wall_ms);
  CHECK(a.front().wall_ms >= kWallStart);
}

TEST_CASE("the catalog is a function of its seed", "[sim]") {
  const Catalog a = build_catalog({});
  const Catalog b = build_catalog({});
  CatalogOptions other;
  other.seed = 2;
  const Catalog c = build_catalog(other);
  CHECK(agent_adapters_config(a, {}, "k", 1) == agent_adapters_config(b, {}, "k", 1));
  CHECK(agent_adapters_config(a, {}, "k", 1) != agent_adapters_config(c, {}, "k", 1));
}

TEST_CASE("GS1 encodings reproduce the EPC Tag Data Standard's worked example", "[sim]") {
  // urn:epc:id:sgtin:0614141.812345.6789, filter 3 (TDS 1.13, section 14.5.1.1 example).
  CHECK(sgtin96_hex(3, "0614141", 812345, 6789) == "3074257BF7194E4000001A85");
  CHECK(gtin14("0614141", 812345) == "80614141123458");
  CHECK(gs1_check_digit("0871234567890") == '6');  // GTIN-13 8712345678906
}

TEST_CASE("iBeacon advertisements follow Apple's layout", "[sim]") {
  CHECK(ibeacon_advertisement_hex("f7826da6-4fa2-4e98-8024-bc5b71e0893e", 1, 2, -59) ==
        "0201061AFF4C000215F7826DA64FA24E988024BC5B71E0893E00010002C5");
}

TEST_CASE("a simulated store hour decodes with the real decoders into valid events of every kind",
          "[sim]") {
  const Catalog catalog = build_catalog({});
  const double speed = 4;
  StoreDayOptions options = day_options(11, speed);
  options.peak_shoppers_per_hour = 1500;
  const nlohmann::json adapters =
      agent_adapters_config(catalog, {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "/r", "/w", ""},
                            options.loyalty_key, speed);
  std::map<Sink, adapters::DecoderPtr> decoders;
  const std::map<std::string, Sink> sink_of = {{kPosAdapter, Sink::kPos},
                                               {kCounterAdapter, Sink::kCounter},
                                               {kBleAdapter, Sink::kBle},
                                               {kRfidAdapter, Sink::kRfid},
                                               {kWeightAdapter, Sink::kWeight}};
  for (const auto& adapter : adapters) {
    nlohmann::json decoder_options = adapter.at("decoder");
    const std::string type = decoder_options.at("type").get<std::string>();
    decoder_options.erase("type");
    auto decoder = adapters::make_decoder(type, decoder_options, {"store-7", "dev", false});
    INFO(type << ": " << (decoder ? "" : decoder.error().message));
    REQUIRE(decoder);
    decoders[sink_of.at(adapter.at("name").get<std::string>())] = std::move(*decoder);
  }

  StoreDay day(catalog, options);
  std::vector<SimOutput> outputs;
  std::vector<Event> events;
  std::vector<adapters::DecodeError> errors;
  std::map<std::string, int> http_types;
  std::set<std::string> kiosk_and_web_loyalty;
  UnixMillis next_tick = kWallStart + 1000;
  const UnixMillis end = kWallStart + 15 * 60'000;  // one simulated hour at speed 4
  adapters::DecodeOutput out;
  auto collect = [&] {
    for (auto& e : out.events) events.push_back(std::move(e));
    for (auto& e : out.errors) errors.push_back(std::move(e));
    out.clear();
  };
  for (UnixMillis t = kWallStart; t <= end; t += 100) {
    day.advance_to(t, outputs);
    for (const SimOutput& o : outputs) {
      if (o.sink == Sink::kWeb || o.sink == Sink::kKiosk) {
        std::vector<std::string> texts;
        if (o.sink == Sink::kWeb) texts.push_back(o.payload);
        if (o.kiosk) texts = o.kiosk->events;
        for (const std::string& text : texts) {
          Event event;
          std::vector<schema::ValidationError> problems;
          INFO(text);
          INFO(join_errors(problems));
          REQUIRE(validator().check_text(text, event, problems));
          ++http_types[event.type];
          if (auto it = event.identities.find("loyalty_id"); it != event.identities.end()) {
            kiosk_and_web_loyalty.insert(it->second);
          }
        }
        continue;
      }
      adapters::Frame frame{o.payload, o.wall_ms, "sim", 1, false};
      decoders.at(o.sink)->decode(frame, out);
      collect();
    }
    outputs.clear();
    if (t >= next_tick) {
      next_tick += 1000;
      for (auto& [sink, decoder] : decoders) {
        decoder->tick(t, out);
        collect();
      }
    }
  }
  INFO((errors.empty() ? "" : errors.front().reason + ": " + errors.front().message));
  CHECK(errors.empty());

  std::map<std::string, int> by_kind;
  std::set<std::string> pos_loyalty;
  for (const Event& event : events) {
    const std::string text = to_json_text(event);
    Event checked;
    std::vector<schema::ValidationError> problems;
    INFO(text);
    REQUIRE(validator().check_text(text, checked, problems));
    std::string kind = event.type;
    if (event.type == "shelf_pickup") {
      kind += ":" + event.properties.value("detector", "") + ":" +
              event.properties.value("action", "");
    }
    if (event.type == "beacon_proximity") kind += ":" + event.properties.value("transition", "");
    ++by_kind[kind];
    if (auto it = event.identities.find("loyalty_id"); it != event.identities.end()) {
      pos_loyalty.insert(it->second);
    }
  }
  for (const auto& [kind, n] : by_kind) UNSCOPED_INFO(kind << " " << n);
  for (const char* kind : {"purchase", "footfall", "beacon_proximity:enter", "beacon_proximity:exit",
                           "dwell", "shelf_pickup:rfid:pickup", "shelf_pickup:rfid:putback",
                           "shelf_pickup:weight:pickup", "shelf_pickup:weight:putback"}) {
    INFO(kind);
    CHECK(by_kind[kind] > 0);
  }
  for (const char* type : {"page_view", "product_view", "identify", "kiosk_interaction"}) {
    INFO(type);
    CHECK(http_types[type] > 0);
  }
  // The POS decoder's pseudonym of a card number is the one kiosks and the web send.
  std::size_t shared = 0;
  for (const auto& id : pos_loyalty) shared += kiosk_and_web_loyalty.count(id);
  CHECK(shared > 0);
}

}  // namespace aisle::sim
