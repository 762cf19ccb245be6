// A deterministic store day: shoppers arrive on a time-of-day curve, browse the web before and
// after their visits, walk zones (BLE), pick up and put back items (RFID, weight shelves), use
// kiosks and buy at the POS; doors count them. The model is a discrete-event simulation in
// simulated time whose outputs are device frames and HTTP events, each with the wall time it is
// due (simulated time / speed after `wall_start`), which is also its device timestamp. The same
// catalog, options and wall_start give the same outputs, byte for byte.
//
// Not thread-safe: one caller (the driver thread) advances it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/sim/agent_devices.hpp"
#include "common/sim/catalog.hpp"
#include "common/sim/random.hpp"

namespace aisle::sim {

// Where an output goes. The first five are device frames (one line each) for the agent's
// adapters; kKiosk is a kiosk session against the agent's HTTP API; kWeb is one event for the
// collector's HTTP ingest.
enum class Sink : std::uint8_t { kPos, kCounter, kBle, kRfid, kWeight, kKiosk, kWeb };
inline constexpr int kSinkCount = 7;
const char* sink_name(Sink sink);

// A shopper at a kiosk. The driver posts a screen_view and a product_view (`events`), asks the
// agent for recommendations for `identity` (placement kiosk_home) and, when it gets some, posts a
// recommendation_view and, when click_roll < the click probability, a recommendation_click on
// the shown item number pick % shown.
struct KioskVisit {
  std::string identity;  // "loyalty_id:<hmac>" or "user_id:cust-000123"
  nlohmann::json source;      // {"store_id", "channel": "kiosk", "device_id"}
  nlohmann::json identities;  // of the kiosk's events
  std::string kiosk_id;
  std::vector<std::string> events;  // event JSON texts posted first
  double click_roll = 0;
  std::uint64_t pick = 0;
  std::uint64_t id_seed = 0;  // for the ids of the events the driver builds
};

struct SimOutput {
  std::int64_t sim_ms = 0;  // simulated time of day, ms since midnight
  UnixMillis wall_ms = 0;   // due time and device timestamp
  Sink sink = Sink::kPos;
  std::string payload;  // a frame line (no terminator) or, for kWeb, one event's JSON
  std::shared_ptr<const KioskVisit> kiosk;  // kKiosk only
};

struct StoreDayOptions {
  std::uint64_t seed = 1;  // this store's day; the catalog has its own seed
  std::string store_id = "store-1";
  // The retailer's loyalty_key (the POS decoder's option): kiosks and the web send loyalty ids
  // as HMAC-SHA256(key, number), the same pseudonym the decoder makes of the raw card number.
  std::string loyalty_key;
  std::string web_store_id = "web";  // source.store_id of web events
  double speed = 1;                  // simulated seconds per wall second
  double start_hour = 11.0;          // simulated time of day at wall_start
  UnixMillis wall_start = 0;
  double peak_shoppers_per_hour = 1200;
  double known_share = 0.6;   // shoppers who identify with a loyalty card or the app
  double kiosk_share = 0.3;   // of the known shoppers
  double putback_share = 0.25;
  // Simulated before wall_start without output, so the store is already busy at the start.
  double warmup_minutes = 15;
  std::int64_t max_shoppers = 0;  // 0: unlimited
};

struct StoreDayStats {
  std::uint64_t shoppers = 0, known_shoppers = 0, web_sessions = 0, kiosk_visits = 0;
  std::uint64_t receipts = 0, rfid_pickups = 0, weight_pickups = 0, putbacks = 0;
  std::uint64_t zone_visits = 0, zone_visits_unobserved = 0;  // no free beacon in the zone
  std::uint64_t outputs[kSinkCount] = {};
};

class StoreDay {
 public:
  StoreDay(const Catalog& catalog, StoreDayOptions options);
  ~StoreDay();

  // Appends the outputs due at or before `wall` in time order.
  void advance_to(UnixMillis wall, std::vector<SimOutput>& out);
  std::int64_t sim_at(UnixMillis wall) const;
  UnixMillis wall_at(std::int64_t sim_ms) const;
  const StoreDayStats& stats() const { return stats_; }
  const DeviceTiming& timing() const { return timing_; }

  // Internal (store_day_internal.hpp).
  struct Task;
  struct Tag;
  struct BleVisit;
  struct Basket;

 private:

  void push(Task task);
  void run(Task& task);
  void emit(std::int64_t at, Sink sink, std::string payload,
            std::shared_ptr<const KioskVisit> kiosk = nullptr);
  void plan_shopper(std::int64_t at);
  std::int64_t plan_web_session(std::int64_t at, const Customer& customer, bool after_visit);
  std::int64_t plan_zone(std::int64_t at, int zone, const std::vector<double>& affinity,
                         Basket& basket);
  void plan_kiosk(std::int64_t at, const Customer& customer, int category);
  void plan_receipt(std::int64_t at, const Customer* customer, Basket& basket,
                    const std::vector<double>& affinity);
  void pickup(std::int64_t at, int product, int quantity, bool put_back, std::int64_t back_at);
  void weight_reading(std::int64_t at, int position);
  int choose_product(int category);
  std::string loyalty_pseudonym(const std::string& number) const;
  std::string next_event_id(std::int64_t at);

  const Catalog& catalog_;
  StoreDayOptions options_;
  DeviceTiming timing_;
  Random random_;
  std::int64_t sim_start_ = 0;  // ms since midnight at wall_start
  std::int64_t now_ = 0;
  std::uint64_t seq_ = 0;
  std::vector<Task> heap_;
  StoreDayStats stats_;
  std::int64_t receipt_seq_ = 0;
  std::int64_t web_session_seq_ = 0;

  // Devices.
  std::vector<std::string> beacon_data_;  // per global beacon: advertisement hex
  std::vector<std::string> beacon_macs_;
  std::vector<int> beacon_zone_;
  std::vector<std::int64_t> beacon_busy_until_;
  std::unordered_map<std::uint64_t, BleVisit> ble_visits_;
  std::uint64_t next_visit_ = 0;
  std::vector<Tag> tags_;
  std::vector<std::vector<int>> tags_by_product_;
  std::uint64_t next_serial_ = 1;
  std::vector<int> weight_products_;  // product index per weight position
  std::vector<double> weight_grams_;  // true load per position
  std::unordered_map<int, int> weight_position_of_;  // product -> position
  // Door crossings per door per counting interval: [door] -> interval -> (in, out).
  std::vector<std::unordered_map<std::int64_t, std::pair<int, int>>> door_counts_;
};

}  // namespace aisle::sim
