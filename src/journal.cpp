// A journal entry's plaintext is one jsonb object {"payload", "response", "metadata", "caller",
// "digest"}, built with pushJsonbValue so nested values are copied, not re-parsed. The action
// and the restored-from revision stay in the clear: they are catalog facts, like the mailbox's
// action column.
#include "src/journal.hpp"

#include "src/core/envelope.hpp"
#include "src/sealed.hpp"
#include "src/spi_util.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
}

namespace spawn {

namespace {

SPIPlanPtr insert_plan = nullptr;
SPIPlanPtr read_plan = nullptr;

// An entry sealed by JournalRecord, waiting for JournalFlush.
struct PendingEntry {
  int64 revision;
  char *action;  // NULL for a restore
  int64 restored_from;
  SealedValue sealed;
};

// Pushes one key of the entry object.
void PushKey(JsonbParseState **state, const char *key) {
  JsonbValue v;
  v.type = jbvString;
  v.val.string.val = const_cast<char *>(key);
  v.val.string.len = static_cast<int>(strlen(key));
  pushJsonbValue(state, WJB_KEY, &v);
}

// Pushes a key with a jsonb value (JSON null for NULL).
void PushJsonb(JsonbParseState **state, const char *key, const Jsonb *value) {
  PushKey(state, key);
  JsonbValue v;
  if (value == nullptr) {
    v.type = jbvNull;
  } else {
    v.type = jbvBinary;
    v.val.binary.data = const_cast<JsonbContainer *>(&value->root);
    v.val.binary.len = static_cast<int>(VARSIZE(value) - VARHDRSZ);
  }
  pushJsonbValue(state, WJB_VALUE, &v);
}

// Pushes a key with a string value (JSON null for NULL).
void PushString(JsonbParseState **state, const char *key, const char *value) {
  PushKey(state, key);
  JsonbValue v;
  if (value == nullptr) {
    v.type = jbvNull;
  } else {
    v.type = jbvString;
    v.val.string.val = const_cast<char *>(value);
    v.val.string.len = static_cast<int>(strlen(value));
  }
  pushJsonbValue(state, WJB_VALUE, &v);
}

// Builds the plaintext of an entry.
Jsonb *EntryBody(const Jsonb *payload, const Jsonb *response, const Jsonb *metadata,
                 const char *caller, const Jsonb *new_state) {
  char digest[kDigestHexBytes];
  StateDigestHex(new_state, digest);
  JsonbParseState *state = nullptr;
  pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);
  PushJsonb(&state, "payload", payload);
  PushJsonb(&state, "response", response);
  PushJsonb(&state, "metadata", metadata);
  PushString(&state, "caller", caller);
  PushString(&state, "digest", digest);
  return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, nullptr));
}

// Finds one field of an entry body; NULL for a missing key.
JsonbValue *FindField(Jsonb *body, const char *key) {
  JsonbValue k;
  k.type = jbvString;
  k.val.string.val = const_cast<char *>(key);
  k.val.string.len = static_cast<int>(strlen(key));
  return findJsonbValueFromContainer(&body->root, JB_FOBJECT, &k);
}

// Reads a jsonb field of an entry body: NULL for JSON null or a missing key.
Jsonb *EntryField(Jsonb *body, const char *key) {
  JsonbValue *v = FindField(body, key);
  return v == nullptr || v->type == jbvNull ? nullptr : JsonbValueToJsonb(v);
}

// Reads a string field of an entry body: NULL for JSON null or a missing key.
const char *EntryString(Jsonb *body, const char *key) {
  JsonbValue *v = FindField(body, key);
  return v == nullptr || v->type != jbvString ? nullptr
                                              : pnstrdup(v->val.string.val, v->val.string.len);
}

// Inserts one sealed entry.
void InsertEntry(const Catalog *cat, const char *system, const char *actor, const PendingEntry *e) {
  Oid types[8] = {TEXTOID, TEXTOID, INT8OID, TEXTOID, INT8OID, INT8OID, BYTEAOID, BYTEAOID};
  SPIPlanPtr plan = PrepareKept(&insert_plan,
                                "INSERT INTO spawn._journal (system, actor, revision, action, "
                                "restored_from, key_id, nonce, entry) "
                                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                                8, types);
  Datum values[8] = {CStringGetTextDatum(system),
                     CStringGetTextDatum(actor),
                     Int64GetDatum(e->revision),
                     e->action ? CStringGetTextDatum(e->action) : static_cast<Datum>(0),
                     Int64GetDatum(e->restored_from),
                     Int64GetDatum(e->sealed.key_id),
                     PointerGetDatum(e->sealed.nonce),
                     PointerGetDatum(e->sealed.ciphertext)};
  char nulls[8] = {' ', ' ', ' ', e->action ? ' ' : 'n', e->action ? 'n' : ' ', ' ', ' ', ' '};
  ExecutePlanAsOwner(cat, plan, values, nulls, false, 0);
}

}  // namespace

// BLAKE2b of the binary jsonb body, in hex.
void StateDigestHex(const Jsonb *state, char out[kDigestHexBytes]) {
  unsigned char digest[envelope::kDigestBytes];
  envelope::Digest(reinterpret_cast<const unsigned char *>(VARDATA(state)),
                   VARSIZE(state) - VARHDRSZ, digest);
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof digest; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  out[2 * sizeof digest] = '\0';
}

// Seals the entry in the actor's memory context and keeps it for JournalFlush.
void JournalRecord(OpenActor *actor, const char *action, const Jsonb *payload,
                   const Jsonb *response, const Jsonb *metadata, const char *caller) {
  MemoryContext old = MemoryContextSwitchTo(actor->context);
  const int64 revision = actor->row.revision + actor->changes;
  auto *entry = static_cast<PendingEntry *>(palloc(sizeof(PendingEntry)));
  entry->revision = revision;
  entry->action = pstrdup(action);
  entry->restored_from = 0;
  entry->sealed = SealJsonb(MakeBinding("journal", actor->row.system, actor->row.name, revision),
                            EntryBody(payload, response, metadata, caller, actor->state));
  actor->journal = lappend(actor->journal, entry);
  MemoryContextSwitchTo(old);
}

// Inserts what JournalRecord kept.
void JournalFlush(OpenActor *actor) {
  ListCell *cell;
  foreach (cell, actor->journal)
    InsertEntry(actor->catalog, actor->row.system, actor->row.name,
                static_cast<PendingEntry *>(lfirst(cell)));
  actor->journal = NIL;
}

// A restore's entry records the snapshot it brought back instead of an action.
void JournalRestore(const Catalog *cat, const InstanceRow *row, int64 restored_from,
                    const Jsonb *state) {
  const int64 revision = row->revision + 1;
  PendingEntry entry{revision, nullptr, restored_from,
                     SealJsonb(MakeBinding("journal", row->system, row->name, revision),
                               EntryBody(nullptr, nullptr, nullptr, nullptr, state))};
  InsertEntry(cat, row->system, row->name, &entry);
}

// One query, then each entry opened with its own binding.
int JournalRead(const Catalog *cat, const char *system, const char *actor, int64 from, int64 to,
                JournalEntry **out) {
  Oid types[4] = {TEXTOID, TEXTOID, INT8OID, INT8OID};
  SPIPlanPtr plan = PrepareKept(&read_plan,
                                "SELECT revision, action, restored_from, key_id, nonce, entry, "
                                "recorded_at FROM spawn._journal WHERE system = $1 AND actor = $2 "
                                "AND revision BETWEEN $3 AND $4 ORDER BY revision",
                                4, types);
  Datum values[4] = {CStringGetTextDatum(system), CStringGetTextDatum(actor), Int64GetDatum(from),
                     Int64GetDatum(to)};
  ExecutePlanAsOwner(cat, plan, values, nullptr, true, 0);
  const int count = static_cast<int>(SPI_processed);
  auto *entries = static_cast<JournalEntry *>(palloc0(sizeof(JournalEntry) * (count + 1)));
  for (int i = 0; i < count; ++i) {
    HeapTuple row = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    bool isnull, no_restore;
    JournalEntry *e = &entries[i];
    e->revision = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
    e->action = SPI_getvalue(row, desc, 2);
    Datum restored_from = SPI_getbinval(row, desc, 3, &no_restore);
    e->restored_from = no_restore ? 0 : DatumGetInt64(restored_from);
    SealedValue sealed{DatumGetInt64(SPI_getbinval(row, desc, 4, &isnull)),
                       DatumGetByteaPP(SPI_getbinval(row, desc, 5, &isnull)),
                       DatumGetByteaPP(SPI_getbinval(row, desc, 6, &isnull))};
    e->recorded_at = DatumGetTimestampTz(SPI_getbinval(row, desc, 7, &isnull));
    Jsonb *body = OpenJsonb(
        MakeBinding("journal", system, actor, e->revision), sealed,
        psprintf("journal entry %lld of actor \"%s\"", static_cast<long long>(e->revision), actor));
    e->payload = EntryField(body, "payload");
    e->response = EntryField(body, "response");
    e->metadata = EntryField(body, "metadata");
    e->caller = EntryString(body, "caller");
    const char *digest = EntryString(body, "digest");
    strlcpy(e->digest, digest ? digest : "", sizeof e->digest);
  }
  *out = entries;
  return count;
}

// The actor was registered without journal => true (or had it turned off).
void RaiseNoJournal(const char *actor) {
  ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                  errmsg("actor \"%s\" does not keep a journal", actor),
                  errhint("Register it with journal => true.")));
  pg_unreachable();
}

}  // namespace spawn
