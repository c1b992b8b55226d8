// Echo mode: every connection keeps `pipeline` messages in flight against an
// echo endpoint; measures round trips per second and their latency.
#pragma once

#include "options.h"
#include "report.h"

namespace wsload {

RunResult run_echo(const Options& options);

}  // namespace wsload
