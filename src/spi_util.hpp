// SPI helpers: the one way SQL entry points connect SPI and reach the catalog (RunInSpi,
// ReturnFromSpi), and spawn's own statements, prepared once per process and run as the
// extension's owner (spawn's tables are not granted to the roles that call it).
#pragma once

#include "src/catalog.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace spawn {

// Connects SPI, runs fn(catalog, arg) with the catalog held (CatalogHold) and finishes SPI. Use
// RunInSpi or ReturnFromSpi.
void SpiHold(void (*fn)(Catalog *catalog, void *arg), void *arg);

// Runs body(catalog) inside SPI with the catalog held. What SPI allocated is gone when it
// returns: body hands results out by value, into memory made before (a tuplestore), or copied
// into a context of the caller's.
template <typename Body>
void RunInSpi(Body &&body) {
  SpiHold(CallCatalogBody<Body>, CatalogBodyArg(body));
}

// RunInSpi for a SQL-callable function that returns a pass-by-reference value (jsonb, text, a
// row): body returns the result Datum, or PG_RETURN_NULL(); the result is copied into the
// caller's memory context before SPI ends.
template <typename Body>
Datum ReturnFromSpi(FunctionCallInfo fcinfo, Body &&body) {
  Datum result = static_cast<Datum>(0);
  RunInSpi([&](Catalog *catalog) {
    result = body(catalog);
    if (!fcinfo->isnull) result = SPI_datumTransfer(result, false, -1);
  });
  return result;
}

// Returns *slot, preparing and keeping `sql` there on first use. cursor_options may force a
// generic plan (CURSOR_OPT_GENERIC_PLAN): one plan, whatever the first parameters were.
SPIPlanPtr PrepareKept(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types,
                       int cursor_options = 0);

// Executes a prepared statement as the owner; raises on an SPI error. Returns the SPI code.
// With index_plans, it is planned with sequential scans, sorts and hash joins disabled: for
// queue scans whose plan must not depend on how full the queue was when it was planned.
int ExecutePlanAsOwner(const Catalog *catalog, SPIPlanPtr plan, Datum *values, const char *nulls,
                       bool read_only, long count, bool index_plans = false);

// Executes one SQL string with arguments as the owner; raises on an SPI error. index_plans as
// above: the launcher's sweeps must never fall back to reading a whole table.
int ExecuteAsOwner(const Catalog *catalog, const char *sql, int nargs, Oid *types, Datum *values,
                   const char *nulls, bool read_only, bool index_plans = false);

}  // namespace spawn
