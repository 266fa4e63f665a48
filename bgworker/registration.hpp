// Registration of the scheduler's background workers with the postmaster: the launcher is a
// static worker; it starts the mailbox workers as dynamic workers while the extension exists.
#pragma once

#include "src/pg.hpp"

extern "C" {
#include "postmaster/bgworker.h"
}

namespace spawn {

// Registers the launcher (from _PG_init). It starts once the server accepts connections as a
// primary (never on a standby; after promotion) and is restarted 5 seconds after a crash.
// Warns, in spawn's words, when max_worker_processes leaves no room for it or for all of
// spawn.workers.
void RegisterSchedulerWorkers();

// Registers the HTTP gateway's processes (from _PG_init) when spawn.http_port is set.
void RegisterGatewayWorkers();

// Starts mailbox worker `index` (1..spawn.workers), notifying the calling launcher when it
// starts and stops; false when no background worker slot is free.
bool StartMailboxWorker(int index, BackgroundWorkerHandle **handle);

}  // namespace spawn
