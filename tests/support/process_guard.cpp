#include "tests/support/process_guard.hpp"

#include <stdexcept>

namespace aisle::test {

ProcessGuard spawn_guarded(const SpawnOptions& options, std::chrono::milliseconds grace) {
  auto pid = spawn(options);
  if (!pid) throw std::runtime_error(pid.error().message);
  return ProcessGuard(*pid, grace);
}

}  // namespace aisle::test
