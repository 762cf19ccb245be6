#include "common/sim/store_day.hpp"
#include "common/sim/store_day_internal.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/crypto.hpp"
#include "common/sim/device_formats.hpp"
#include "common/sim/sim_events.hpp"

namespace aisle::sim {
namespace {

constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kMinute = 60 * kSecond;
constexpr std::int64_t kDay = 24 * 60 * kMinute;
constexpr int kBeaconMeasuredPower = -59;
constexpr std::int64_t kWeightHeartbeat = 60 * kSecond;
constexpr std::int64_t kShelfSettle = 2 * kSecond;  // a weight shelf reports once it is still
constexpr int kWeightRestockBelow = 3;
constexpr int kWeightRestockUnits = 12;
constexpr double kClickProbability = 0.35;



// Arrivals relative to the peak, by hour of day: a lunch bump and the after-work peak (closed at
// night). Shaped after the footfall curves retailers publish for weekdays.
double arrival_curve(double hour) {
  if (hour < 7 || hour >= 22) return 0;
  const double lunch = 0.65 * std::exp(-std::pow((hour - 12.5) / 1.4, 2));
  const double evening = std::exp(-std::pow((hour - 17.5) / 1.6, 2));
  return std::clamp(0.15 + lunch + evening, 0.0, 1.0);
}

}  // namespace

const char* sink_name(Sink sink) {
  switch (sink) {
    case Sink::kPos: return "pos";
    case Sink::kCounter: return "counter";
    case Sink::kBle: return "ble";
    case Sink::kRfid: return "rfid";
    case Sink::kWeight: return "weight";
    case Sink::kKiosk: return "kiosk";
    case Sink::kWeb: return "web";
  }
  return "?";
}

namespace {
bool later(const StoreDay::Task& a, const StoreDay::Task& b);
}  // namespace

StoreDay::StoreDay(const Catalog& catalog, StoreDayOptions options)
    : catalog_(catalog),
      options_(std::move(options)),
      timing_(device_timing(options_.speed)),
      random_(options_.seed * 0xD1B54A32D192ED03ULL + 0x5EED) {
  sim_start_ = static_cast<std::int64_t>(options_.start_hour * 60 * kMinute) % kDay;
  const std::int64_t begin =
      sim_start_ - static_cast<std::int64_t>(options_.warmup_minutes * kMinute);
  now_ = begin;

  for (const Zone& zone : catalog_.zones) {
    for (std::uint16_t minor : zone.beacon_minors) {
      beacon_data_.push_back(ibeacon_advertisement_hex(catalog_.ibeacon_uuid,
                                                       catalog_.ibeacon_major, minor,
                                                       kBeaconMeasuredPower));
      beacon_macs_.push_back(beacon_mac(minor));
      beacon_zone_.push_back(static_cast<int>(&zone - catalog_.zones.data()));
      beacon_busy_until_.push_back(begin);
    }
  }
  tags_by_product_.resize(catalog_.products.size());
  for (std::size_t p = 0; p < catalog_.products.size(); ++p) {
    const Product& product = catalog_.products[p];
    if (product.shelf == ShelfKind::kRfid) {
      for (int u = 0; u < catalog_.options.rfid_units_per_sku; ++u) {
        Tag tag;
        tag.product = static_cast<int>(p);
        tag.epc = sgtin96_hex(1, catalog_.company_prefix, product.item_reference,
                              options_.seed % 1000 * 1'000'000 + next_serial_++);
        tags_by_product_[p].push_back(static_cast<int>(tags_.size()));
        tags_.push_back(std::move(tag));
      }
    } else if (product.shelf == ShelfKind::kWeight) {
      weight_position_of_[static_cast<int>(p)] = static_cast<int>(weight_products_.size());
      weight_products_.push_back(static_cast<int>(p));
      weight_grams_.push_back(product.unit_g * static_cast<double>(random_.integer(10, 20)));
    }
  }
  door_counts_.resize(catalog_.doors.size());

  push(make_task(begin, TaskKind::kArrival));
  push(make_task(sim_start_, TaskKind::kRfidCycle));
  push(make_task(sim_start_, TaskKind::kWeightHeartbeat));
  const std::int64_t interval = timing_.counter_interval_s * kSecond;
  for (std::size_t d = 0; d < catalog_.doors.size(); ++d) {
    push(make_task((begin / interval + 1) * interval, TaskKind::kCounterReport, static_cast<int>(d)));
  }
}

StoreDay::~StoreDay() = default;

namespace {
bool later(const StoreDay::Task& a, const StoreDay::Task& b) {
  return a.at != b.at ? a.at > b.at : a.seq > b.seq;
}
}  // namespace

void StoreDay::push(Task task) {
  task.seq = seq_++;
  heap_.push_back(std::move(task));
  std::push_heap(heap_.begin(), heap_.end(), later);
}

std::int64_t StoreDay::sim_at(UnixMillis wall) const {
  return sim_start_ +
         static_cast<std::int64_t>(static_cast<double>(wall - options_.wall_start) * options_.speed);
}

UnixMillis StoreDay::wall_at(std::int64_t sim_ms) const {
  return options_.wall_start +
         static_cast<UnixMillis>(std::llround(static_cast<double>(sim_ms - sim_start_) / options_.speed));
}

void StoreDay::advance_to(UnixMillis wall, std::vector<SimOutput>& out) {
  const std::int64_t until = sim_at(wall);
  while (!heap_.empty() && heap_.front().at <= until) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    Task task = std::move(heap_.back());
    heap_.pop_back();
    now_ = task.at;
    if (task.kind == TaskKind::kOutput) {
      // Outputs of the warm-up are the past: the store was already running when we tuned in.
      if (task.at >= sim_start_) {
        ++stats_.outputs[static_cast<int>(task.output->sink)];
        out.push_back(std::move(*task.output));
      }
      continue;
    }
    run(task);
  }
}

void StoreDay::emit(std::int64_t at, Sink sink, std::string payload,
                    std::shared_ptr<const KioskVisit> kiosk) {
  Task task = make_task(at, TaskKind::kOutput);
  task.output = std::make_shared<SimOutput>();
  task.output->sim_ms = at;
  task.output->wall_ms = wall_at(at);
  task.output->sink = sink;
  task.output->payload = std::move(payload);
  task.output->kiosk = std::move(kiosk);
  push(std::move(task));
}

void StoreDay::run(Task& task) {
  switch (task.kind) {
    case TaskKind::kArrival: {
      if (options_.max_shoppers > 0 &&
          static_cast<std::int64_t>(stats_.shoppers) >= options_.max_shoppers) {
        return;
      }
      // Thinning of a Poisson process at the peak rate by the day's curve.
      const double peak_per_ms = options_.peak_shoppers_per_hour / (60.0 * kMinute);
      const double hour = static_cast<double>((task.at % kDay + kDay) % kDay) / (60.0 * kMinute);
      if (random_.chance(arrival_curve(hour))) plan_shopper(task.at);
      push(make_task(task.at + 1 + static_cast<std::int64_t>(random_.exponential(1.0 / peak_per_ms)),
                     TaskKind::kArrival));
      return;
    }
    case TaskKind::kBleSample: {
      auto it = ble_visits_.find(task.visit);
      if (it == ble_visits_.end()) return;
      BleVisit& visit = it->second;
      int rssi;
      if (visit.sample < 3) {
        rssi = -88 + 8 * visit.sample + static_cast<int>(random_.integer(-2, 2));  // approaching
      } else if (task.at < visit.leave_at) {
        rssi = static_cast<int>(random_.integer(-67, -57));  // in the zone, near its beacon
      } else {
        rssi = static_cast<int>(random_.integer(-97, -90));  // walked away
      }
      ++visit.sample;
      if (task.at >= sim_start_) {
        emit(task.at, Sink::kBle,
             ble_gateway_line(wall_at(task.at), beacon_macs_[static_cast<std::size_t>(visit.beacon)],
                              rssi, beacon_data_[static_cast<std::size_t>(visit.beacon)]));
      }
      const std::int64_t next = task.at + visit.step;
      if (next <= visit.end_at) {
        task.at = next;
        push(std::move(task));
      } else {
        ble_visits_.erase(it);
      }
      return;
    }
    case TaskKind::kPickup:
      pickup(task.at, task.index, task.quantity, task.back_at >= 0, task.back_at);
      return;
    case TaskKind::kPutback: {
      if (task.quantity < 0) {
        tags_[static_cast<std::size_t>(task.index)].present = true;  // read again next round
      } else {
        const int position = weight_position_of_[task.index];
        weight_grams_[static_cast<std::size_t>(position)] +=
            catalog_.products[static_cast<std::size_t>(task.index)].unit_g * task.quantity;
        weight_reading(task.at + kShelfSettle, position);
      }
      ++stats_.putbacks;
      return;
    }
    case TaskKind::kRfidCycle: {
      // One inventory round: every tag on its shelf answers once.
      const UnixMillis ts = wall_at(task.at);
      for (const Tag& tag : tags_) {
        if (!tag.present || tag.gone) continue;
        const Product& p = catalog_.products[static_cast<std::size_t>(tag.product)];
        emit(task.at, Sink::kRfid,
             rfid_read_line(ts, tag.epc, p.rfid_antenna + 1,
                            static_cast<int>(random_.integer(-68, -48))));
      }
      task.at += static_cast<std::int64_t>(timing_.rfid_cycle_ms * options_.speed);
      push(std::move(task));
      return;
    }
    case TaskKind::kRfidRestock: {
      const Product& product = catalog_.products[static_cast<std::size_t>(task.index)];
      Tag tag;
      tag.product = task.index;
      tag.epc = sgtin96_hex(1, catalog_.company_prefix, product.item_reference,
                            options_.seed % 1000 * 1'000'000 + next_serial_++);
      tags_by_product_[static_cast<std::size_t>(task.index)].push_back(
          static_cast<int>(tags_.size()));
      tags_.push_back(std::move(tag));
      return;
    }
    case TaskKind::kWeightHeartbeat:
      for (std::size_t position = 0; position < weight_products_.size(); ++position) {
        weight_reading(task.at, static_cast<int>(position));
      }
      task.at += kWeightHeartbeat;
      push(std::move(task));
      return;
    case TaskKind::kCounterReport: {
      const std::int64_t interval = timing_.counter_interval_s * kSecond;
      auto& counts = door_counts_[static_cast<std::size_t>(task.index)];
      const std::int64_t bucket = task.at / interval - 1;
      const auto it = counts.find(bucket);
      const auto [in, out] = it == counts.end() ? std::pair<int, int>{0, 0} : it->second;
      if (it != counts.end()) counts.erase(it);
      if (task.at >= sim_start_) {
        emit(task.at, Sink::kCounter,
             people_counter_line(wall_at(task.at),
                                 catalog_.doors[static_cast<std::size_t>(task.index)], in, out,
                                 timing_.counter_interval_s));
      }
      task.at += interval;
      push(std::move(task));
      return;
    }
    case TaskKind::kOutput:
      return;
  }
}

void StoreDay::weight_reading(std::int64_t at, int position) {
  if (at < sim_start_) return;
  const Product& p =
      catalog_.products[static_cast<std::size_t>(weight_products_[static_cast<std::size_t>(position)])];
  // Load-cell noise well inside the decoder's tolerance, so only real changes count.
  const double noise = random_.uniform(-0.25, 0.25) * p.tolerance_g;
  emit(at, Sink::kWeight,
       weight_reading_line(wall_at(at), p.weight_position,
                           std::max(0.0, weight_grams_[static_cast<std::size_t>(position)] + noise)));
}

void StoreDay::pickup(std::int64_t at, int product_index, int quantity, bool put_back,
                      std::int64_t back_at) {
  const Product& product = catalog_.products[static_cast<std::size_t>(product_index)];
  if (product.shelf == ShelfKind::kRfid) {
    for (int tag_index : tags_by_product_[static_cast<std::size_t>(product_index)]) {
      Tag& tag = tags_[static_cast<std::size_t>(tag_index)];
      if (!tag.present || tag.gone) continue;
      tag.present = false;
      ++stats_.rfid_pickups;
      if (put_back) {
        push(make_task(back_at, TaskKind::kPutback, tag_index, -1));
      } else {
        tag.gone = true;  // bought: a new unit is put on the shelf later
        push(make_task(at + static_cast<std::int64_t>(random_.uniform(5, 20) * kMinute),
                       TaskKind::kRfidRestock, product_index));
      }
      return;
    }
    return;  // none left on the shelf: taken from the stock room, unseen
  }
  if (product.shelf == ShelfKind::kWeight) {
    const int position = weight_position_of_[product_index];
    double& grams = weight_grams_[static_cast<std::size_t>(position)];
    if (grams < product.unit_g * quantity) return;
    grams -= product.unit_g * quantity;
    ++stats_.weight_pickups;
    weight_reading(at + kShelfSettle, position);
    if (put_back) {
      push(make_task(back_at, TaskKind::kPutback, product_index, quantity));
    } else if (grams < product.unit_g * kWeightRestockBelow) {
      grams += product.unit_g * kWeightRestockUnits;  // staff refill the facing
      weight_reading(at + 2 * kMinute, position);
    }
  }
}

int StoreDay::choose_product(int category) {
  const auto& products = catalog_.products_by_category[static_cast<std::size_t>(category)];
  std::vector<double> weights;
  weights.reserve(products.size());
  for (int p : products) weights.push_back(catalog_.products[static_cast<std::size_t>(p)].popularity);
  return products[random_.weighted(weights)];
}

std::string StoreDay::loyalty_pseudonym(const std::string& number) const {
  return crypto::hmac_sha256_hex(options_.loyalty_key, number);
}

std::string StoreDay::next_event_id(std::int64_t at) {
  const std::uint64_t a = random_.next();
  return sim_event_id(wall_at(at), a, random_.next());
}

}  // namespace aisle::sim
