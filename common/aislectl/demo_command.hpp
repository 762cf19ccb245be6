// `aislectl demo` (what `make demo` runs): a store chain end to end on embedded defaults.
#pragma once

#include <string>
#include <vector>

namespace aisle::ctl {

int run_demo_command(const std::vector<std::string>& args);

}  // namespace aisle::ctl
