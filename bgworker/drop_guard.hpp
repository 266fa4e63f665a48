// DROP EXTENSION spawn while the scheduler works: the workers are stopped and the extension's
// relations locked, deadlock-free, before PostgreSQL drops anything.
#pragma once

namespace spawn {

// Installs the ProcessUtility hook (from _PG_init), chaining any previous one.
void InstallDropGuard();

}  // namespace spawn
