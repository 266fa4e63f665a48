// Runs only on activation, so a plain SPI statement is fast enough.
#include "src/timers.hpp"

#include "src/shared.hpp"
#include "src/spi_util.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
}

namespace spawn {

// Inserts one row per declared timer.
void TimersStart(const Catalog *catalog, const char *system, const char *actor,
                 int32 definition_id) {
  Oid types[3] = {TEXTOID, TEXTOID, INT4OID};
  Datum values[3] = {CStringGetTextDatum(system), CStringGetTextDatum(actor),
                     Int32GetDatum(definition_id)};
  ExecuteAsOwner(catalog,
                 "INSERT INTO spawn._timers (system, actor, action, every_ms, next_fire_at) "
                 "SELECT $1, $2, t->>'action', (t->>'every_ms')::bigint, "
                 "now() + (t->>'every_ms')::bigint * interval '1 millisecond' "
                 "FROM spawn._definitions d, jsonb_array_elements(d.timers) t WHERE d.id = $3 "
                 "ON CONFLICT DO NOTHING",
                 3, types, values, nullptr, false);
  WakeLauncherAtCommit();
}

}  // namespace spawn
