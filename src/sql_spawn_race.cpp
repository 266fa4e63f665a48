// The check that replaces the foreign key from spawn._instances to spawn._definitions (issue
// 17: the key's trigger queried the definition once per inserted instance, which made bulk
// creation three times slower than a plain INSERT). Spawners lock the template's row (FOR KEY
// SHARE) before they insert, which the foreign key's per-row check did for them;
// unregistration deletes the instances itself after the definition, and asks this function
// whether a spawn committed in between that its snapshot cannot see (REPEATABLE READ), as the
// key's cascade did with its crosscheck snapshot.
#include "src/guard.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/snapmgr.h"
}

// spawn._instances_left(definition_id integer) RETURNS boolean: whether instances of the
// definition exist in the latest committed state of the database (not the caller's snapshot),
// after the caller's own deletes. Called as the owner by spawn.unregister_actor.
SPAWN_FUNCTION(spawn_instances_left) {
  if (PG_ARGISNULL(0)) PG_RETURN_BOOL(false);
  Oid types[1] = {INT4OID};
  Datum values[1] = {PG_GETARG_DATUM(0)};
  // The caller's deletes become visible to the latest snapshot, as in the foreign key's check.
  CommandCounterIncrement();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  SPIPlanPtr plan =
      SPI_prepare("SELECT 1 FROM spawn._instances i WHERE i.definition_id = $1 LIMIT 1", 1, types);
  if (plan == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
  const int rc = SPI_execute_snapshot(plan, values, nullptr, GetLatestSnapshot(), InvalidSnapshot,
                                      true, false, 1);
  if (rc != SPI_OK_SELECT)
    elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(rc));
  const bool left = SPI_processed > 0;
  SPI_finish();
  PG_RETURN_BOOL(left);
}
