// What every scheduler process shares: start-up (signals, database connection, shared slot),
// the wait on its latch, and running a unit of work in its own transaction.
#pragma once

#include "pg.hpp"
#include "shared.hpp"

namespace spawn {

// Sets up signals, connects to spawn.database, names the process (pg_stat_activity shows
// `name`) and claims shared slot `slot`, released when the process exits.
ProcessSlot *ProcessStart(int slot, const char *name);

// Starts one iteration of a scheduler loop in `loop_context` (reset first). When the extension
// is not installed yet, waits a second and returns false.
bool ProcessBeginIteration(MemoryContext loop_context);

// Sleeps until the latch is set or `timeout_ms` passes; handles SIGHUP and SIGTERM.
void ProcessWait(long timeout_ms);

// Handles SIGHUP and SIGTERM without waiting.
void ProcessCheckSignals();

// Runs fn(arg) in a transaction with a snapshot and SPI connected; an error is logged and the
// transaction rolled back. Returns false after an error.
bool RunTransaction(const char *what, void (*fn)(void *), void *arg);

}  // namespace spawn
