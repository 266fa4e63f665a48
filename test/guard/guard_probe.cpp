// A probe of the door guard's safety net (src/guard.cpp), built only by
// test/shell/guard_test.sh into a module of its own. It calls spawn.so's RunGuarded (spawn is
// preloaded, so its symbols are there when the probe loads) with a body that throws a C++
// exception from inside a PG_TRY, as a bug would. The door must put PG_exception_stack back
// before it raises; otherwise the error jumps into the PG_TRY's dead frame, which the probe
// counts (and the backend usually crashes).
#include "src/core/errors.hpp"
#include "src/guard.hpp"

extern "C" {
PG_MODULE_MAGIC;
}

namespace {

// How often an error jumped into the dead frame of ThrowThroughPgTry's PG_TRY: never, unless
// the door failed to restore PG_exception_stack.
int dead_frame_entries = 0;

// Throws a SpawnError out of a PG_TRY block, leaving PG_exception_stack pointing at its frame.
void ThrowThroughPgTry(void *) {
  PG_TRY();
  {
    throw spawn::SpawnError("22023", "thrown through a pg_try", "The probe's detail.",
                            "The probe's hint.");
  }
  PG_CATCH();
  {
    ++dead_frame_entries;  // only reachable through a stale PG_exception_stack
    PG_RE_THROW();
  }
  PG_END_TRY();
}

}  // namespace

// spawn_guard_probe() RETURNS void: raises what the guarded body threw.
SPAWN_FUNCTION(spawn_guard_probe) {
  spawn::RunGuarded(ThrowThroughPgTry, nullptr);
  PG_RETURN_VOID();
}

// spawn_guard_probe_dead_entries() RETURNS integer: how often an error landed in a dead frame.
SPAWN_FUNCTION(spawn_guard_probe_dead_entries) {
  PG_RETURN_INT32(dead_frame_entries);
}
