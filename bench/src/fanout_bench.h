// Fan-out mode: N subscribers on one channel, messages POSTed at a fixed
// rate; measures deliveries per second and publish-to-deliver latency from
// the send timestamp each payload carries.
#pragma once

#include "options.h"
#include "report.h"

namespace wsload {

RunResult run_fanout(const Options& options);

}  // namespace wsload
