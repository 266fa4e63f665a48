// The owner switch covers only the statement itself; handlers never run under it.
#include "spi_util.hpp"

namespace spawn {

// Prepares once per process.
SPIPlanPtr PrepareKept(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types) {
  if (*slot == nullptr) {
    SPIPlanPtr plan = SPI_prepare(sql, nargs, types);
    if (plan == nullptr)
      elog(ERROR, "spawn: could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
    SPI_keepplan(plan);
    *slot = plan;
  }
  return *slot;
}

// Runs a plan as the owner.
int ExecutePlanAsOwner(const Catalog *catalog, SPIPlanPtr plan, Datum *values, const char *nulls,
                       bool read_only, long count) {
  SavedUser saved;
  BecomeOwner(catalog, &saved);
  int rc = SPI_execute_plan(plan, values, nulls, read_only, count);
  RestoreUser(&saved);
  if (rc < 0) elog(ERROR, "spawn: statement failed: %s", SPI_result_code_string(rc));
  return rc;
}

// Runs SQL with arguments as the owner.
int ExecuteAsOwner(const Catalog *catalog, const char *sql, int nargs, Oid *types, Datum *values,
                   const char *nulls, bool read_only) {
  SavedUser saved;
  BecomeOwner(catalog, &saved);
  int rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
  RestoreUser(&saved);
  if (rc < 0) elog(ERROR, "spawn: statement failed: %s", SPI_result_code_string(rc));
  return rc;
}

}  // namespace spawn
