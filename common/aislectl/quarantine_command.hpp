// `aislectl quarantine ls|show|replay`: the collector's quarantine over its admin API.
#pragma once

#include <string>
#include <vector>

namespace aisle::ctl {

int run_quarantine_command(const std::vector<std::string>& args);

}  // namespace aisle::ctl
