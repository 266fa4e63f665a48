// The plaintext of a state is the binary jsonb body; its associated data binds system, actor
// and revision (envelope.hpp). Statements are prepared once per backend; PostgreSQL's plan
// cache re-plans them if the tables are recreated.
#include "state_store.hpp"

#include "envelope.hpp"
#include "keyring.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
}

namespace spawn {

namespace {

SPIPlanPtr fetch_plan = nullptr;
SPIPlanPtr write_plan = nullptr;

// Prepares a statement once and keeps it for the life of the backend.
SPIPlanPtr Prepare(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types) {
  if (*slot != nullptr) return *slot;
  SPIPlanPtr plan = SPI_prepare(sql, nargs, types);
  if (plan == nullptr)
    elog(ERROR, "spawn: could not prepare a statement: %s", SPI_result_code_string(SPI_result));
  SPI_keepplan(plan);
  *slot = plan;
  return plan;
}

// The envelope binding of a state revision.
envelope::Binding StateBinding(const InstanceRow *row, int64 revision) {
  return envelope::Binding{"state", row->system, strlen(row->system), row->name,
                           strlen(row->name), revision};
}

}  // namespace

// Fetches the instance row by (system, name).
bool StateFetch(const Catalog *catalog, const char *system, const char *name, InstanceRow *row) {
  Oid types[2] = {TEXTOID, TEXTOID};
  SPIPlanPtr plan = Prepare(&fetch_plan,
                            "SELECT id, definition_id, status = 'active', revision, key_id, "
                            "nonce, ciphertext, ctid FROM spawn._instances "
                            "WHERE system = $1 AND name = $2",
                            2, types);
  Datum args[2] = {CStringGetTextDatum(system), CStringGetTextDatum(name)};
  SavedUser saved;
  BecomeOwner(catalog, &saved);
  int rc = SPI_execute_plan(plan, args, nullptr, false, 1);
  RestoreUser(&saved);
  if (rc != SPI_OK_SELECT) elog(ERROR, "spawn: instance lookup failed: %s", SPI_result_code_string(rc));
  if (SPI_processed == 0) return false;
  HeapTuple tuple = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  bool isnull;
  row->system = system;
  row->name = name;
  row->id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
  row->definition_id = DatumGetInt32(SPI_getbinval(tuple, desc, 2, &isnull));
  row->active = DatumGetBool(SPI_getbinval(tuple, desc, 3, &isnull));
  row->revision = DatumGetInt64(SPI_getbinval(tuple, desc, 4, &isnull));
  Datum key_id = SPI_getbinval(tuple, desc, 5, &isnull);
  row->has_state = !isnull;
  row->key_id = isnull ? 0 : DatumGetInt64(key_id);
  Datum nonce = SPI_getbinval(tuple, desc, 6, &isnull);
  row->nonce = isnull ? nullptr : DatumGetByteaPP(nonce);
  Datum cipher = SPI_getbinval(tuple, desc, 7, &isnull);
  row->ciphertext = isnull ? nullptr : DatumGetByteaPP(cipher);
  row->ctid = *reinterpret_cast<ItemPointer>(DatumGetPointer(SPI_getbinval(tuple, desc, 8, &isnull)));
  if (row->has_state && (row->nonce == nullptr || row->ciphertext == nullptr))
    row->has_state = false;
  return true;
}

// Returns '{}' as jsonb.
Jsonb *EmptyState() {
  return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
}

// Decrypts the current revision.
Jsonb *StateDecrypt(const InstanceRow *row) {
  if (!row->has_state) return EmptyState();
  uint32_t key_id;
  const unsigned char *key = KeyringRequire(&key_id);
  if (row->key_id != static_cast<int64>(key_id))
    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                    errmsg("state of actor \"%s\" was encrypted with another key", row->name),
                    errdetail("The state has key id %lld; the configured key has id %u.",
                              static_cast<long long>(row->key_id), key_id),
                    errhint("Start the server with the key that wrote this state.")));
  size_t cipher_len = VARSIZE_ANY_EXHDR(row->ciphertext);
  if (VARSIZE_ANY_EXHDR(row->nonce) != envelope::kNonceBytes || cipher_len < envelope::kTagBytes)
    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                    errmsg("state of actor \"%s\" is malformed", row->name)));
  size_t plain_len = cipher_len - envelope::kTagBytes;
  auto *state = static_cast<Jsonb *>(palloc(VARHDRSZ + plain_len));
  SET_VARSIZE(state, VARHDRSZ + plain_len);
  envelope::Binding binding = StateBinding(row, row->revision);
  if (!envelope::Open(key, binding, reinterpret_cast<unsigned char *>(VARDATA_ANY(row->nonce)),
                      reinterpret_cast<unsigned char *>(VARDATA_ANY(row->ciphertext)),
                      cipher_len, reinterpret_cast<unsigned char *>(VARDATA(state))))
    ereport(ERROR,
            (errcode(ERRCODE_DATA_CORRUPTED),
             errmsg("state of actor \"%s\" failed authentication", row->name),
             errdetail("The stored ciphertext was altered, or belongs to another actor or "
                       "revision (revision %lld).",
                       static_cast<long long>(row->revision)),
             errhint("Restore the row from a backup or an earlier revision.")));
  return state;
}

// Encrypts (when the state changed) and updates the row found by StateFetch.
void StateWrite(const Catalog *catalog, const InstanceRow *row, Jsonb *new_state) {
  Datum args[5];
  char nulls[5] = {' ', ' ', ' ', ' ', ' '};
  args[0] = PointerGetDatum(&row->ctid);
  if (new_state != nullptr) {
    uint32_t key_id;
    const unsigned char *key = KeyringRequire(&key_id);
    const int64 revision = row->revision + 1;
    size_t plain_len = VARSIZE(new_state) - VARHDRSZ;
    bytea *nonce = static_cast<bytea *>(palloc(VARHDRSZ + envelope::kNonceBytes));
    SET_VARSIZE(nonce, VARHDRSZ + envelope::kNonceBytes);
    size_t cipher_len = envelope::SealedLength(plain_len);
    bytea *cipher = static_cast<bytea *>(palloc(VARHDRSZ + cipher_len));
    SET_VARSIZE(cipher, VARHDRSZ + cipher_len);
    envelope::Seal(key, StateBinding(row, revision),
                   reinterpret_cast<unsigned char *>(VARDATA(new_state)), plain_len,
                   reinterpret_cast<unsigned char *>(VARDATA(nonce)),
                   reinterpret_cast<unsigned char *>(VARDATA(cipher)));
    args[1] = Int64GetDatum(revision);
    args[2] = Int64GetDatum(key_id);
    args[3] = PointerGetDatum(nonce);
    args[4] = PointerGetDatum(cipher);
  } else {
    args[1] = Int64GetDatum(row->revision);
    args[2] = Int64GetDatum(row->key_id);
    args[3] = PointerGetDatum(row->nonce);
    args[4] = PointerGetDatum(row->ciphertext);
    if (!row->has_state) nulls[2] = nulls[3] = nulls[4] = 'n';
  }
  Oid types[5] = {TIDOID, INT8OID, INT8OID, BYTEAOID, BYTEAOID};
  SPIPlanPtr plan = Prepare(
      &write_plan,
      "UPDATE spawn._instances SET revision = $2, key_id = $3, nonce = $4, ciphertext = $5, "
      "status = 'active', "
      "activated_at = CASE WHEN status = 'active' THEN activated_at ELSE now() END, "
      "state_updated_at = CASE WHEN revision = $2 THEN state_updated_at ELSE now() END, "
      "last_activity = now() WHERE ctid = $1",
      5, types);
  SavedUser saved;
  BecomeOwner(catalog, &saved);
  int rc = SPI_execute_plan(plan, args, nulls, false, 0);
  RestoreUser(&saved);
  if (rc != SPI_OK_UPDATE) elog(ERROR, "spawn: state write failed: %s", SPI_result_code_string(rc));
  if (SPI_processed != 1)
    ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                    errmsg("actor \"%s\" was modified outside its single-writer lock", row->name),
                    errhint("Retry the invocation.")));
}

}  // namespace spawn
