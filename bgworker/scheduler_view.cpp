// spawn.scheduler(): the state of the scheduler as a whole, read from shared memory: how many
// mailbox workers are configured and how many run, how many have no background worker slot,
// and whether the workers wait for a state store key.
#include "src/guard.hpp"
#include "src/worker_pool.hpp"
#include "src/shared.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
}

// spawn.scheduler() RETURNS record (one row).
SPAWN_FUNCTION(spawn_scheduler) {
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("spawn.scheduler() must be called in a context that takes a record")));
  desc = BlessTupleDesc(desc);
  spawn::SharedState *shared = spawn::Shared();
  const spawn::PoolState pool = shared->pool;
  const bool launcher = shared->processes[spawn::kLauncherSlot].pid != 0;
  const int without_slot =
      !pool.launcher ? pool.configured : Max(pool.configured - pool.registrable, pool.refused);
  Datum keys[lengthof(pool.paused_keys)];
  int key_count = 0;
  for (int64 key_id : pool.paused_keys)
    if (key_id != 0) keys[key_count++] = Int64GetDatum(key_id);
  Datum values[6] = {
      Int32GetDatum(pool.configured),
      Int32GetDatum(spawn::PoolRunning()),
      Int32GetDatum(without_slot),
      BoolGetDatum(launcher),
      BoolGetDatum(pool.no_key_logged),
      PointerGetDatum(
          construct_array(keys, key_count, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
  };
  bool nulls[6] = {};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
