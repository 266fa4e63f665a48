// Idempotency keys live in spawn._idempotency_keys, keyed by (key, role), written as the
// extension's owner. The primary key serializes concurrent claims: INSERT ... ON CONFLICT DO
// NOTHING waits for a concurrent claimer's transaction, so two requests with one key never
// both enqueue. An expired key (older than the retention) is claimed afresh; housekeeping
// deletes expired keys.
#include "src/idempotency.hpp"

#include "src/settings.hpp"
#include "src/spi_util.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
}

namespace spawn {

namespace {

SPIPlanPtr claim_plan = nullptr;
SPIPlanPtr first_plan = nullptr;
SPIPlanPtr record_plan = nullptr;

}  // namespace

// Claims the key, or finds the id it names.
bool IdempotencyClaim(const Catalog *catalog, const char *key, Oid requester, int64 *first_id) {
  const size_t length = strlen(key);
  if (length == 0 || length > 255)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("an idempotency key must be 1 to 255 bytes long"),
                    errdetail("The key was %zu bytes long.", length)));
  Oid types[3] = {TEXTOID, OIDOID, INT4OID};
  Datum values[3] = {CStringGetTextDatum(key), ObjectIdGetDatum(requester),
                     Int32GetDatum(setting_idempotency_retention_s)};
  SPIPlanPtr claim = PrepareKept(
      &claim_plan,
      "WITH expired AS (DELETE FROM spawn._idempotency_keys WHERE key = $1 AND requester = $2 "
      "  AND created_at < now() - $3 * interval '1 second') "
      "INSERT INTO spawn._idempotency_keys (key, requester) VALUES ($1, $2) "
      "ON CONFLICT (key, requester) DO NOTHING",
      3, types);
  ExecutePlanAsOwner(catalog, claim, values, nullptr, false, 0);
  if (SPI_processed == 1) return true;
  SPIPlanPtr first = PrepareKept(
      &first_plan,
      "SELECT request_id FROM spawn._idempotency_keys WHERE key = $1 AND requester = $2", 2, types);
  ExecutePlanAsOwner(catalog, first, values, nullptr, false, 1);  // sees this statement's own claim
  bool isnull = true;
  if (SPI_processed == 1)
    *first_id =
        DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  if (isnull)  // the expired row was deleted while this claim waited: cannot happen under the lock
    ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                    errmsg("idempotency key \"%s\" is being claimed concurrently", key),
                    errhint("Retry the request.")));
  return false;
}

// Records the request id for a claimed key.
void IdempotencyRecord(const Catalog *catalog, const char *key, Oid requester, int64 id) {
  Oid types[3] = {TEXTOID, OIDOID, INT8OID};
  Datum values[3] = {CStringGetTextDatum(key), ObjectIdGetDatum(requester), Int64GetDatum(id)};
  SPIPlanPtr record = PrepareKept(
      &record_plan,
      "UPDATE spawn._idempotency_keys SET request_id = $3 WHERE key = $1 AND requester = $2", 3,
      types);
  ExecutePlanAsOwner(catalog, record, values, nullptr, false, 0);
}

}  // namespace spawn
