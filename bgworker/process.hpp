// What every scheduler process shares: start-up (signals, database connection, shared slot),
// the wait on its latch, and running a unit of work in its own transaction.
#pragma once

#include "src/catalog.hpp"
#include "src/pg.hpp"
#include "src/shared.hpp"

namespace spawn {

// Sets up signals, connects to spawn.database, names the process (pg_stat_activity shows
// `name`) and claims shared slot `slot`, released when the process exits.
ProcessSlot *ProcessStart(int slot, const char *name);

// Starts one iteration of a scheduler loop in `loop_context` (reset first). When the extension
// is not installed (or DROP EXTENSION is running), a mailbox worker exits
// (`exit_without_extension`); otherwise returns false.
bool ProcessBeginIteration(MemoryContext loop_context, bool exit_without_extension);

// Sleeps until the latch is set or `timeout_ms` passes; handles SIGHUP and SIGTERM.
void ProcessWait(long timeout_ms);

// Handles SIGHUP and SIGTERM without waiting.
void ProcessCheckSignals();

// Runs fn(arg) in a transaction with a snapshot and SPI connected; an error is logged (a
// repeated one once a minute) and the transaction rolled back. Returns false after an error,
// or at once while DROP EXTENSION spawn runs.
bool RunTransaction(const char *what, void (*fn)(void *), void *arg);

// RunTransaction for work on spawn's tables: runs fn(catalog, arg) with the catalog held
// (WithCatalog).
bool RunCatalogTransaction(const char *what, void (*fn)(Catalog *catalog, void *arg), void *arg);

// Runs fn(arg) in a subtransaction of the current transaction; on an error (or a C++ exception)
// rolls it back, stores a copy of the error in *error and returns false.
bool RunSubtransaction(void (*fn)(void *), void *arg, ErrorData **error);

}  // namespace spawn
