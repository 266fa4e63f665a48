// Rotation re-seals each table's values in small batches, the oldest first, in the caller's
// transaction: mailbox, reply, schedule and history rows under FOR UPDATE SKIP LOCKED (a row a
// worker holds is taken next time), states under their actor's lock, taken without waiting (an
// actor in use is taken next time), so invocations go on while a rotation runs.
#include "src/key_check.hpp"

#include "src/actor_lock.hpp"
#include "src/catalog.hpp"
#include "src/guard.hpp"
#include "src/core/key_list.hpp"
#include "src/keyring.hpp"
#include "src/sealed.hpp"
#include "src/spi_util.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
}

namespace spawn {

namespace {

Oid verified_database = InvalidOid;  // the database whose keys this backend has checked

// A table of sealed values: its ciphertext column, its binding, and the column of the binding's
// number (revision or id).
struct SealedTable {
  const char *table;
  const char *actor_column;
  const char *cipher_column;
  const char *purpose;
  const char *number_column;
};

const SealedTable kSealedTables[] = {
    {"_instances", "name", "ciphertext", "state", "revision"},
    {"_history", "actor", "ciphertext", "state", "revision"},
    {"_journal", "actor", "entry", "journal", "revision"},
    {"_mailbox", "actor", "payload", "mailbox", "id"},
    {"_dead_letters", "actor", "payload", "mailbox", "id"},
    {"_replies", "actor", "response", "reply", "id"},
    {"_schedules", "actor", "payload", "schedule", "id"},
};

// The configured key ids as text, for messages: "12, 34".
char *ConfiguredIds() {
  std::uint32_t ids[kMaxKeys];
  const int count = KeyringIds(ids, kMaxKeys);
  StringInfoData text;
  initStringInfo(&text);
  for (int i = 0; i < count; ++i) appendStringInfo(&text, "%s%u", i ? ", " : "", ids[i]);
  return text.data;
}

// The ids of this database's keys in use that are not configured, as text ("" when none).
char *MissingKeys(const Catalog *cat) {
  ExecuteAsOwner(cat, "SELECT key_id FROM spawn._keys WHERE retired_at IS NULL ORDER BY key_id", 0,
                 nullptr, nullptr, nullptr, true);
  StringInfoData missing;
  initStringInfo(&missing);
  for (uint64 i = 0; i < SPI_processed; ++i) {
    bool isnull;
    const int64 id =
        DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
    if (!KeyringHasKey(id))
      appendStringInfo(&missing, "%s%lld", missing.len ? ", " : "", static_cast<long long>(id));
  }
  return missing.data;
}

// With an empty registry (a new or restored database), true unless a value already stored is
// sealed under a key that is not configured: then the configured key is a wrong one. Looks at
// one sealed value per table.
bool RegistryAgreesWithValues(const Catalog *cat) {
  ExecuteAsOwner(cat, "SELECT EXISTS (SELECT FROM spawn._keys)", 0, nullptr, nullptr, nullptr,
                 true);
  bool isnull;
  if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
    return true;
  for (const SealedTable &t : kSealedTables) {
    ExecuteAsOwner(
        cat, psprintf("SELECT key_id FROM spawn.%s WHERE key_id IS NOT NULL LIMIT 1", t.table), 0,
        nullptr, nullptr, nullptr, true);
    if (SPI_processed == 1 && !KeyringHasKey(DatumGetInt64(SPI_getbinval(
                                  SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))))
      return false;
  }
  return true;
}

// Compares the database's keys with the configured ones (the launcher records the active key,
// in a transaction of its own: an insert here would make every writer wait for the first).
void CheckDatabaseKeys(const Catalog *cat) {
  uint32_t active;
  KeyringRequire(&active);
  const char *missing = MissingKeys(cat);
  if (missing[0] != '\0')
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("the configured state store keys are not this database's"),
             errdetail("Its values are sealed under key id %s, which is not configured (the "
                       "configured keys have id %s).",
                       missing, ConfiguredIds()),
             errhint("Configure the key this database was written with; to rotate, list the new "
                     "key first and the old one after it. A key that no value needs any more is "
                     "retired with spawn.retire_key.")));
}

// Re-seals up to `limit` values of one table that are not under the active key.
int64 RotateTable(const Catalog *cat, const SealedTable *t, uint32 active, int64 limit) {
  const bool states = strcmp(t->table, "_instances") == 0;
  Oid types[2] = {INT8OID, INT8OID};
  Datum values[2] = {Int64GetDatum(static_cast<int64>(active)), Int64GetDatum(limit)};
  ExecuteAsOwner(cat,
                 psprintf("SELECT ctid, system, %s, %s, key_id, nonce, %s FROM spawn.%s "
                          "WHERE key_id IS NOT NULL AND key_id <> $1 LIMIT $2%s",
                          t->actor_column, t->number_column, t->cipher_column, t->table,
                          states ? "" : " FOR UPDATE SKIP LOCKED"),
                 2, types, values, nullptr, false);
  SPITupleTable *rows = SPI_tuptable;
  const uint64 count = SPI_processed;
  int64 resealed = 0;
  for (uint64 i = 0; i < count; ++i) {
    HeapTuple row = rows->vals[i];
    TupleDesc desc = rows->tupdesc;
    bool isnull;
    const char *system = SPI_getvalue(row, desc, 2);
    const char *actor = SPI_getvalue(row, desc, 3);
    if (states && !ActorLockAcquire(system, actor, false)) continue;  // in use: next time
    const int64 number = DatumGetInt64(SPI_getbinval(row, desc, 4, &isnull));
    const SealedValue old{DatumGetInt64(SPI_getbinval(row, desc, 5, &isnull)),
                          DatumGetByteaPP(SPI_getbinval(row, desc, 6, &isnull)),
                          DatumGetByteaPP(SPI_getbinval(row, desc, 7, &isnull))};
    const envelope::Binding binding = MakeBinding(t->purpose, system, actor, number);
    Jsonb *plain = OpenJsonb(binding, old, psprintf("a value of spawn.%s", t->table));
    const SealedValue sealed = SealJsonb(binding, plain);
    Oid update_types[5] = {INT8OID, BYTEAOID, BYTEAOID, TIDOID, INT8OID};
    Datum update_values[5] = {Int64GetDatum(sealed.key_id), PointerGetDatum(sealed.nonce),
                              PointerGetDatum(sealed.ciphertext),
                              SPI_getbinval(row, desc, 1, &isnull), Int64GetDatum(old.key_id)};
    ExecuteAsOwner(cat,
                   psprintf("UPDATE spawn.%s SET key_id = $1, nonce = $2, %s = $3 "
                            "WHERE ctid = $4 AND key_id = $5",
                            t->table, t->cipher_column),
                   5, update_types, update_values, nullptr, false);
    resealed += static_cast<int64>(SPI_processed);
  }
  return resealed;
}

}  // namespace

// Once per backend and database.
void RequireDatabaseKeys() {
  if (verified_database == MyDatabaseId) return;
  RunInSpi([](const Catalog *cat) { CheckDatabaseKeys(cat); });
  verified_database = MyDatabaseId;
}

// Inserts the active key's id (or revives it), committed by the launcher's own transaction;
// never while the database's own keys are missing (then the configured key is a wrong one).
void RecordActiveKey(Catalog *cat, void *) {
  uint32_t active;
  if (!KeyringConfigured()) return;
  KeyringRequire(&active);
  if (MissingKeys(cat)[0] != '\0' || !RegistryAgreesWithValues(cat)) return;
  Oid types[1] = {INT8OID};
  Datum values[1] = {Int64GetDatum(static_cast<int64>(active))};
  ExecuteAsOwner(
      cat,
      "WITH revived AS (UPDATE spawn._keys SET retired_at = NULL "
      "  WHERE key_id = $1 AND retired_at IS NOT NULL RETURNING 1) "
      "INSERT INTO spawn._keys (key_id) SELECT $1 WHERE NOT EXISTS (SELECT FROM revived) "
      "AND NOT EXISTS (SELECT FROM spawn._keys WHERE key_id = $1) "
      "ON CONFLICT (key_id) DO NOTHING",
      1, types, values, nullptr, false);
}

// A key, and the right one.
void RequireKeysForMessages() {
  uint32_t active;
  KeyringRequire(&active);
  RequireDatabaseKeys();
}

}  // namespace spawn

// spawn.rotate_key(batch_size) RETURNS bigint: re-seals up to batch_size values of each table
// under the active key; returns how many it re-sealed (0 when no value needs an older key).
SPAWN_FUNCTION(spawn_rotate_key) {
  const int64 limit = PG_ARGISNULL(0) ? 1000 : PG_GETARG_INT32(0);
  if (limit < 1 || limit > 100000)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("batch_size must be between 1 and 100000")));
  uint32_t active;
  spawn::KeyringRequire(&active);
  spawn::RequireDatabaseKeys();
  int64 resealed = 0;
  spawn::RunInSpi([&](const spawn::Catalog *cat) {
    for (const spawn::SealedTable &t : spawn::kSealedTables)
      resealed += spawn::RotateTable(cat, &t, active, limit);
  });
  PG_RETURN_INT64(resealed);
}

// spawn.retire_key(key_id): marks an old key as no longer needed; refused while values use it.
SPAWN_FUNCTION(spawn_retire_key) {
  if (PG_ARGISNULL(0))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("key_id must not be null")));
  const int64 key_id = PG_GETARG_INT64(0);
  uint32_t active;
  spawn::KeyringRequire(&active);
  if (key_id == static_cast<int64>(active))
    ereport(ERROR, (errcode(ERRCODE_OBJECT_IN_USE),
                    errmsg("key %lld is the active key", static_cast<long long>(key_id)),
                    errhint("Configure a new active key first, then rotate to it.")));
  spawn::RunInSpi([&](const spawn::Catalog *cat) {
    StringInfoData sql;
    initStringInfo(&sql);
    appendStringInfoString(&sql, "SELECT 0");
    for (const spawn::SealedTable &t : spawn::kSealedTables)
      appendStringInfo(&sql, " + (SELECT count(*) FROM spawn.%s WHERE key_id = $1)", t.table);
    Oid types[1] = {INT8OID};
    Datum values[1] = {Int64GetDatum(key_id)};
    spawn::ExecuteAsOwner(cat, sql.data, 1, types, values, nullptr, true);
    bool isnull;
    const int64 needed =
        DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    if (needed > 0)
      ereport(ERROR, (errcode(ERRCODE_OBJECT_IN_USE),
                      errmsg("key %lld is still needed by %lld values",
                             static_cast<long long>(key_id), static_cast<long long>(needed)),
                      errhint("Run spawn.rotate_key() until it returns 0, then retire the key.")));
    spawn::ExecuteAsOwner(cat,
                          "UPDATE spawn._keys SET retired_at = now() "
                          "WHERE key_id = $1 AND retired_at IS NULL",
                          1, types, values, nullptr, false);
    if (SPI_processed == 0)
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                      errmsg("key %lld is not a key of this database in use",
                             static_cast<long long>(key_id)),
                      errhint("spawn.key_status lists the keys.")));
  });
  PG_RETURN_VOID();
}

// spawn._configured_keys() -> (key_id, active): the keys this server was started with.
SPAWN_FUNCTION(spawn_configured_keys) {
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  InitMaterializedSRF(fcinfo, 0);
  std::uint32_t ids[spawn::kMaxKeys];
  const int count = spawn::KeyringIds(ids, static_cast<int>(spawn::kMaxKeys));
  for (int i = 0; i < count; ++i) {
    Datum values[2] = {Int64GetDatum(static_cast<int64>(ids[i])), BoolGetDatum(i == 0)};
    bool nulls[2] = {false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return static_cast<Datum>(0);
}
