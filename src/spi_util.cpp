// The owner switch covers only the statement itself; handlers never run under it.
//
// spawn's statements are index lookups by design, but a plan kept from the time a queue table
// was nearly empty would scan it sequentially forever after. So they are planned and run with
// sequential scans, sorts and hash joins disabled, scoped to the statement.
#include "spi_util.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace spawn {

namespace {

// Disables plan shapes that scale with the table size; returns the GUC nesting level to undo.
int PreferIndexPlans() {
  const int level = NewGUCNestLevel();
  static const char *const kSettings[] = {"enable_seqscan", "enable_sort", "enable_hashjoin",
                                          "enable_hashagg"};
  for (const char *name : kSettings)
    (void)set_config_option(name, "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                            false);
  return level;
}

}  // namespace

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
  const int level = PreferIndexPlans();
  int rc = SPI_execute_plan(plan, values, nulls, read_only, count);
  AtEOXact_GUC(true, level);
  RestoreUser(&saved);
  if (rc < 0) elog(ERROR, "spawn: statement failed: %s", SPI_result_code_string(rc));
  return rc;
}

// Runs SQL with arguments as the owner.
int ExecuteAsOwner(const Catalog *catalog, const char *sql, int nargs, Oid *types, Datum *values,
                   const char *nulls, bool read_only) {
  SavedUser saved;
  BecomeOwner(catalog, &saved);
  const int level = PreferIndexPlans();
  int rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
  AtEOXact_GUC(true, level);
  RestoreUser(&saved);
  if (rc < 0) elog(ERROR, "spawn: statement failed: %s", SPI_result_code_string(rc));
  return rc;
}

}  // namespace spawn
