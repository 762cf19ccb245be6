// Decoder throughput: frames per second per decoder on one core (one thread), median of 5 runs.
// Targets (issue 7): >= 1,000,000 frames/s for line protocols (people counter, POS CSV rows),
// >= 500,000 frames/s for BLE advertisements and EPC reads. Frames are pre-built in memory; each
// is decoded into a DecodeOutput cleared per frame, as the adapter runner does.
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "firmware_adapters/decoder.hpp"

namespace {

using aisle::adapters::DecodeOutput;
using aisle::adapters::Frame;
using nlohmann::json;

struct Workload {
  const char* label;
  const char* type;
  json options;
  std::vector<Frame> frames;
};

// CPU time of this thread: the figure is "frames per second of one core" even on a shared,
// loaded machine (wall time there measures the neighbours).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Frame frame(std::string bytes, aisle::UnixMillis at, std::uint64_t line) {
  Frame f;
  f.bytes = std::move(bytes);
  f.received_at = at;
  f.line = line;
  return f;
}

std::vector<Workload> workloads(const std::string& only) {
  auto want = [&](const char* label) { return only.empty() || std::string(label).find(only) != std::string::npos; };
  std::vector<Workload> all;
  constexpr int kFrames = 200'000;
  const aisle::UnixMillis t0 = 1'795'874'700'000;
  char buffer[512];

  Workload people{"people_counter line", "people_counter", json::object(), {}};
  for (int k = 0; k < kFrames; ++k) {
    std::snprintf(buffer, sizeof buffer, "%lld,door-%d,in=%d,out=%d,interval=60",
                  static_cast<long long>(t0 / 1000 + k), k % 8, k % 5, k % 4);
    people.frames.push_back(frame(buffer, t0 + k, static_cast<std::uint64_t>(k + 1)));
  }
  if (want(people.label)) all.push_back(std::move(people));

  Workload csv{"pos_csv row", "pos_csv", json{{"loyalty_key", "bench-loyalty-key-0123456789"}}, {}};
  csv.frames.push_back(frame("receipt_id,timestamp,register,currency,loyalty,sku,name,quantity,"
                             "unit_price,total",
                             t0, 1));
  for (int k = 1; k < kFrames; ++k) {
    const int receipt = k / 4;  // 4 rows per receipt
    std::snprintf(buffer, sizeof buffer,
                  "R-%07d,2026-11-28T14:05:00Z,lane-03,EUR,LOY-%d,SKU-%05d,Product %d,%d,%d.95,"
                  "99.80",
                  receipt, receipt % 1000, k % 5000, k % 5000, 1 + k % 3, k % 40);
    csv.frames.push_back(frame(buffer, t0 + k, static_cast<std::uint64_t>(k + 1)));
  }
  if (want(csv.label)) all.push_back(std::move(csv));

  Workload jsonl{"pos_jsonl receipt (4 items)", "pos_jsonl",
                 json{{"loyalty_key", "bench-loyalty-key-0123456789"}}, {}};
  for (int k = 0; k < kFrames / 4; ++k) {
    std::snprintf(buffer, sizeof buffer,
                  R"({"receipt_id":"R-%07d","ts":"2026-11-28T14:05:00Z","currency":"EUR",)"
                  R"("loyalty":"LOY-%d","items":[{"sku":"A-%d","qty":1,"price":2.5},)"
                  R"({"sku":"B","qty":2,"price":1.25},{"sku":"C","qty":1,"price":9.99},)"
                  R"({"sku":"D","qty":3,"price":0.5}],"total":16.99})",
                  k, k % 1000, k % 100);
    jsonl.frames.push_back(frame(buffer, t0 + k, static_cast<std::uint64_t>(k + 1)));
  }
  if (want(jsonl.label)) all.push_back(std::move(jsonl));

  json zones = json::object();
  for (int minor = 0; minor < 50; ++minor) {
    zones["ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:" + std::to_string(minor)] =
        "zone-" + std::to_string(minor % 10);
  }
  Workload ble{"ble_gateway advertisement", "ble_gateway", json{{"zones", zones}}, {}};
  for (int k = 0; k < kFrames; ++k) {
    std::snprintf(buffer, sizeof buffer,
                  R"({"ts":%lld,"mac":"C4:7C:8D:6A:11:%02X","rssi":%d,)"
                  R"("data":"0201061AFF4C000215F7826DA64FA24E988024BC5B71E0893E0001%04XC5"})",
                  static_cast<long long>(t0 + k * 10), k % 64, -55 - (k * 7) % 40, k % 64);
    ble.frames.push_back(frame(buffer, t0 + k * 10, 0));
  }
  if (want(ble.label)) all.push_back(std::move(ble));

  json antennas = {{"1", "shelf-1"}, {"2", "shelf-2"}, {"3", "shelf-3"}, {"4", "shelf-4"}};
  Workload rfid{"rfid_shelf EPC read (CSV)", "rfid_shelf", json{{"antennas", antennas}}, {}};
  Workload rfid_json{"rfid_shelf EPC read (JSON)", "rfid_shelf", json{{"antennas", antennas}}, {}};
  for (int k = 0; k < kFrames; ++k) {
    const int tag = k % 2000;
    std::snprintf(buffer, sizeof buffer, "%lld,3074257BF7194E40%08X,%d,-%d",
                  static_cast<long long>(t0 + k), tag, 1 + tag % 4, 50 + k % 30);
    rfid.frames.push_back(frame(buffer, t0 + k, 0));
    std::snprintf(buffer, sizeof buffer,
                  R"({"ts":%lld,"epc":"3074257BF7194E40%08X","antenna":%d,"rssi":-%d})",
                  static_cast<long long>(t0 + k), tag, 1 + tag % 4, 50 + k % 30);
    rfid_json.frames.push_back(frame(buffer, t0 + k, 0));
  }
  if (want(rfid.label)) all.push_back(std::move(rfid));
  if (want(rfid_json.label)) all.push_back(std::move(rfid_json));

  json positions = json::object();
  for (int p = 0; p < 32; ++p) {
    positions["bay-1/level-1/facing-" + std::to_string(p)] = {
        {"shelf_id", "shelf-1"}, {"sku", "SKU-" + std::to_string(p)}, {"unit_g", 250},
        {"tolerance_g", 10}};
  }
  Workload weight{"weight_shelf reading", "weight_shelf", json{{"positions", positions}}, {}};
  for (int k = 0; k < kFrames; ++k) {
    const int step = (k / 3200) % 8;  // each position loses or regains a unit every 100 readings
    std::snprintf(buffer, sizeof buffer, "%lld,bay-1/level-1/facing-%d,%.1f",
                  static_cast<long long>(t0 + k), k % 32, 5000.0 - 250.0 * (step % 4) + (k % 3));
    weight.frames.push_back(frame(buffer, t0 + k, 0));
  }
  if (want(weight.label)) all.push_back(std::move(weight));
  return all;
}

}  // namespace

// An optional argument runs only the workloads whose label contains it (for profiling).
int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  std::printf("decoder throughput, one thread, frames per CPU-second, median of 5 runs\n");
  std::printf("%-30s %14s %10s %10s\n", "decoder", "frames/s", "events", "errors");
  for (auto& workload : workloads(only)) {
    if (!only.empty() && std::string(workload.label).find(only) == std::string::npos) continue;
    std::vector<double> rates;
    std::size_t events = 0, errors = 0;
    for (int run = 0; run < 5; ++run) {
      auto made = aisle::adapters::make_decoder(workload.type, workload.options,
                                                aisle::adapters::DecoderContext{"store-0042", "dev-1"});
      if (!made) {
        std::fprintf(stderr, "%s: %s\n", workload.type, made.error().message.c_str());
        return 1;
      }
      auto& decoder = **made;
      DecodeOutput out;
      events = errors = 0;
      const double start = thread_cpu_seconds();
      for (const Frame& f : workload.frames) {
        out.clear();
        decoder.decode(f, out);
        events += out.events.size();
        errors += out.errors.size();
      }
      const double seconds = thread_cpu_seconds() - start;
      rates.push_back(static_cast<double>(workload.frames.size()) / seconds);
    }
    std::sort(rates.begin(), rates.end());
    std::printf("%-30s %14.0f %10zu %10zu\n", workload.label, rates[rates.size() / 2], events,
                errors);
  }
  return 0;
}
