// StoreDay's internal task and state types, shared by its two source files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/sim/store_day.hpp"

namespace aisle::sim {

enum class TaskKind : std::uint8_t {
  kArrival,
  kOutput,
  kBleSample,
  kPickup,
  kPutback,
  kRfidCycle,
  kRfidRestock,
  kWeightHeartbeat,
  kCounterReport,
};

struct StoreDay::Task {
  std::int64_t at = 0;
  std::uint64_t seq = 0;
  TaskKind kind = TaskKind::kArrival;
  int index = 0;     // product, tag, door or position
  int quantity = 0;  // pickups; kPutback: -1 for an RFID tag (index = tag)
  std::uint64_t visit = 0;
  std::int64_t back_at = -1;  // kPickup: when it is put back (-1: bought)
  std::shared_ptr<SimOutput> output;
};

struct StoreDay::Tag {
  int product = 0;
  std::string epc;
  bool present = true;
  bool gone = false;  // sold: left the store
};

struct StoreDay::BleVisit {
  int beacon = 0;
  std::int64_t leave_at = 0;  // the shopper walks away: the signal drops
  std::int64_t end_at = 0;    // last report
  std::int64_t step = 0;
  int sample = 0;
};

struct StoreDay::Basket {
  std::vector<std::pair<int, int>> items;  // product, quantity
};

inline StoreDay::Task make_task(std::int64_t at, TaskKind kind, int index = 0, int quantity = 0) {
  StoreDay::Task task;
  task.at = at;
  task.kind = kind;
  task.index = index;
  task.quantity = quantity;
  return task;
}

}  // namespace aisle::sim
