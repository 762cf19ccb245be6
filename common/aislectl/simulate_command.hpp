// `aislectl simulate`: a simulated store day against a running agent (through its device
// transports and HTTP API) and collector (web events). docs/simulator.md.
#pragma once

#include <string>
#include <vector>

namespace aisle::ctl {

int run_simulate_command(const std::vector<std::string>& args);

}  // namespace aisle::ctl
