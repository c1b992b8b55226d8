// Connect-storm mode: `concurrency` clients each open a TCP connection, send
// one request, read the response head and drop the connection, over and
// over. A ws:// URL sends a WebSocket upgrade and wants 101; an http:// URL
// sends a plain GET (keep-alive off) and wants a 2xx: the baseline of what
// the same NGINX does per connection without a WebSocket.
#pragma once

#include "options.h"
#include "report.h"

namespace wsload {

RunResult run_connect(const Options& options);

}  // namespace wsload
