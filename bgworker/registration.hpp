// Registration of the scheduler's background workers with the postmaster.
#pragma once

namespace spawn {

// Registers the launcher and spawn.workers mailbox workers (from _PG_init). They start once the
// server accepts connections as a primary (never on a standby; after promotion) and are
// restarted 5 seconds after a crash.
void RegisterSchedulerWorkers();

}  // namespace spawn
