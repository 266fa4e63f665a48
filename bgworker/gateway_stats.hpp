// Counters of the HTTP gateway, shared by its processes (shared memory, since the server
// started): requests per endpoint and status class, invocations and their latency per system and
// actor kind, registrations, gateway processes. Read by GET /metrics.
#pragma once

#include <string>

#include "src/core/gateway_route.hpp"
#include "src/pg.hpp"

namespace spawn::gateway {

// Installs the shared memory hooks; called from _PG_init when the gateway is on.
void StatsInstallHooks();

// Counts one answered request.
void StatsRecordRequest(Endpoint endpoint, unsigned int status);

// Counts one invocation of an actor of `kind` in `system` that took `seconds`.
void StatsRecordInvocation(const char *system, const char *kind, bool ok, double seconds);

// Counts one registration.
void StatsRecordRegistration(bool ok);

// Records gateway process `index` as running (pid) or gone (0), and counts its starts.
void StatsRecordProcess(int index, int pid);

// Appends the counters in Prometheus text format.
void StatsFormat(std::string *out);

}  // namespace spawn::gateway
