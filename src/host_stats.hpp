// Call statistics of external actor hosts, shared by every backend and worker (shared memory,
// since the server started): calls, failures, latency, last error. Read by spawn.hosts.
#pragma once

#include "src/pg.hpp"

namespace spawn {

// Installs the shared memory hooks; called from _PG_init.
void HostStatsInstallHooks();

// Counts one call to a host that took `latency_ms`; `error` is NULL when it succeeded.
void HostStatsRecord(int32 host_id, const char *host_name, double latency_ms, const char *error);

}  // namespace spawn
