// `aislectl eval recs --train FILE --test FILE [options]`: offline evaluation of the
// recommendation models on a session dataset (docs/EVALUATION.md).
#pragma once

#include <string>
#include <vector>

namespace aisle::ctl {

int run_eval_command(const std::vector<std::string>& args);

}  // namespace aisle::ctl
