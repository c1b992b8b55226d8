// Idle mode: opens N WebSockets that then send nothing, and reports how much
// memory the server holds per open connection (Pss of the whole server
// process tree after the connections settle, minus before they opened).
#pragma once

#include "options.h"
#include "report.h"

namespace wsload {

RunResult run_idle(const Options& options);

}  // namespace wsload
