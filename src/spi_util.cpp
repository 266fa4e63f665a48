// The owner switch covers only the statement itself; handlers never run under it.
//
// The mailbox's candidate scan must use its index whatever the statistics said when its plan
// was made (a plan kept from an empty queue would otherwise scan it whole for every message),
// so it can be run with sequential scans, sorts and hash joins disabled for that statement.
#include "src/spi_util.hpp"

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

// SPI_connect, the catalog held around fn, SPI_finish.
void SpiHold(void (*fn)(Catalog *, void *), void *arg) {
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "spawn: SPI_connect failed");
  CatalogHold(fn, arg);
  SPI_finish();
}

// Prepares once per process.
SPIPlanPtr PrepareKept(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types,
                       int cursor_options) {
  if (*slot == nullptr) {
    const int level = PinInternalSearchPath();
    SPIPlanPtr plan = SPI_prepare_cursor(sql, nargs, types, cursor_options);
    AtEOXact_GUC(true, level);
    if (plan == nullptr)
      elog(ERROR, "spawn: could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
    SPI_keepplan(plan);
    *slot = plan;
  }
  return *slot;
}

// Runs a plan as the owner.
int ExecutePlanAsOwner(const Catalog *catalog, SPIPlanPtr plan, Datum *values, const char *nulls,
                       bool read_only, long count, bool index_plans) {
  SavedUser saved;
  BecomeOwner(catalog->owner, &saved);
  const int level = index_plans ? PreferIndexPlans() : -1;
  int rc = SPI_execute_plan(plan, values, nulls, read_only, count);
  if (index_plans) AtEOXact_GUC(true, level);
  RestoreUser(&saved);
  if (rc < 0) elog(ERROR, "spawn: statement failed: %s", SPI_result_code_string(rc));
  return rc;
}

// Runs SQL with arguments as the owner.
int ExecuteAsOwner(const Catalog *catalog, const char *sql, int nargs, Oid *types, Datum *values,
                   const char *nulls, bool read_only, bool index_plans) {
  SavedUser saved;
  BecomeOwner(catalog->owner, &saved);
  const int level = index_plans ? PreferIndexPlans() : -1;
  int rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
  if (index_plans) AtEOXact_GUC(true, level);
  RestoreUser(&saved);
  if (rc < 0) elog(ERROR, "spawn: statement failed: %s", SPI_result_code_string(rc));
  return rc;
}

}  // namespace spawn
