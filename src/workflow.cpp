// A workflow is a jsonb object with the keys "effects", "broadcast", "pipe" and "forward"
// (built by spawn.with_effects, spawn.with_broadcast, spawn.pipe and spawn.forward). It runs
// while the emitting actor is still marked as running, so a pipe or forward that leads back to
// it in the same transaction is refused instead of overwriting its state; two transactions
// piping to each other in opposite order are stopped by PostgreSQL's deadlock detector.
#include "src/workflow.hpp"

#include "src/identity.hpp"
#include "src/mailbox.hpp"
#include "src/name_check.hpp"
#include "src/sealed.hpp"
#include "src/served_database.hpp"
#include "src/shard_route.hpp"
#include "src/shared.hpp"
#include "src/spi_util.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace spawn {

namespace {

SPIPlanPtr subscribers_plan = nullptr;
SPIPlanPtr subscribers_with_action_plan = nullptr;
SPIPlanPtr insert_plan = nullptr;

// Raises the error for a malformed workflow.
[[noreturn]] void Malformed(const char *detail) {
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid workflow"),
                  errdetail("%s", detail),
                  errhint("Build workflows with spawn.with_effects, spawn.effect, "
                          "spawn.with_broadcast, spawn.pipe and spawn.forward.")));
  pg_unreachable();
}

// A key of an object, or NULL when absent.
JsonbValue *Key(JsonbContainer *object, const char *key) {
  return getKeyJsonValueFromContainer(object, key, strlen(key), nullptr);
}

// A string member; NULL when absent and not required.
const char *Text(JsonbContainer *object, const char *key, bool required, const char *where) {
  JsonbValue *v = Key(object, key);
  if (v == nullptr || v->type == jbvNull) {
    if (required) Malformed(psprintf("Key \"%s\" is missing from %s.", key, where));
    return nullptr;
  }
  if (v->type != jbvString) Malformed(psprintf("\"%s\" of %s is not a string.", key, where));
  return pnstrdup(v->val.string.val, v->val.string.len);
}

// A member as jsonb, NULL when absent or JSON null.
Jsonb *Member(JsonbContainer *object, const char *key) {
  JsonbValue *v = Key(object, key);
  return v == nullptr || v->type == jbvNull ? nullptr : JsonbValueToJsonb(v);
}

// The container of a member that must be an object (or NULL when absent).
JsonbContainer *Object(JsonbContainer *object, const char *key) {
  Jsonb *member = Member(object, key);
  if (member == nullptr) return nullptr;
  if (!JB_ROOT_IS_OBJECT(member) || JB_ROOT_IS_SCALAR(member))
    Malformed(psprintf("\"%s\" is not an object.", key));
  return &member->root;
}

// Rejects keys a workflow (or one of its parts) does not have.
void OnlyKeys(JsonbContainer *object, const char *const *allowed, int count, const char *where) {
  JsonbIterator *it = JsonbIteratorInit(object);
  JsonbValue v;
  JsonbIteratorToken token;
  while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
    if (token != WJB_KEY) continue;
    bool known = false;
    for (int i = 0; i < count && !known; ++i)
      known = v.val.string.len == static_cast<int>(strlen(allowed[i])) &&
              memcmp(v.val.string.val, allowed[i], v.val.string.len) == 0;
    if (!known)
      Malformed(psprintf("Unknown key \"%.*s\" in %s.", v.val.string.len, v.val.string.val, where));
  }
}

// Queues each side effect as a cast.
void RunEffects(const Catalog *cat, const InvokeRequest *req, Jsonb *effects) {
  if (!JB_ROOT_IS_ARRAY(effects) || JB_ROOT_IS_SCALAR(effects))
    Malformed("\"effects\" is not an array.");
  static const char *const kKeys[] = {"actor",  "action",       "payload", "delay_ms",
                                      "system", "register_ref", "metadata"};
  const int count = JB_ROOT_COUNT(effects);
  for (int i = 0; i < count; ++i) {
    JsonbValue *item = getIthJsonbValueFromContainer(&effects->root, i);
    if (item->type != jbvBinary || !JsonContainerIsObject(item->val.binary.data))
      Malformed(psprintf("Effect %d is not an object.", i + 1));
    JsonbContainer *effect = item->val.binary.data;
    const char *where = psprintf("effect %d", i + 1);
    OnlyKeys(effect, kKeys, 7, where);
    Message m{};
    m.actor = Text(effect, "actor", true, where);
    m.action = Text(effect, "action", true, where);
    m.system = Text(effect, "system", false, where);
    if (m.system == nullptr) m.system = req->system;
    m.register_ref = Text(effect, "register_ref", false, where);
    m.payload = Member(effect, "payload");
    m.metadata = Member(effect, "metadata");
    m.source = "effect";
    m.run_as = CallerRole();  // the role the handler runs as (in a worker: the message's sender)
    int64 delay = 0;
    JsonbValue *delay_value = Key(effect, "delay_ms");
    if (delay_value != nullptr && delay_value->type != jbvNull) {
      if (delay_value->type != jbvNumeric)
        Malformed(psprintf("\"delay_ms\" of %s is not a number.", where));
      delay = DatumGetInt64(
          DirectFunctionCall1(numeric_int8, NumericGetDatum(delay_value->val.numeric)));
      if (delay < 0) Malformed(psprintf("\"delay_ms\" of %s is negative.", where));
      if (delay > kMaxDelayMs) Malformed(psprintf("\"delay_ms\" of %s is beyond 10 years.", where));
    }
    m.deliver_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay);
    InvokeRequest names{m.system, m.actor, m.action, nullptr, nullptr, m.register_ref};
    CheckRequestNames(&names);
    ValidateTarget(cat, m.system, m.actor, m.action, m.register_ref);
    Enqueue(cat, &m);
  }
}

// Invokes the pipe or forward target and returns its reply.
Jsonb *Route(const InvokeRequest *req, JsonbContainer *route, const char *where, Jsonb *payload) {
  static const char *const kKeys[] = {"actor", "action", "register_ref", "system"};
  OnlyKeys(route, kKeys, 4, where);
  InvokeRequest next{};
  next.actor = Text(route, "actor", true, where);
  next.action = Text(route, "action", true, where);
  next.register_ref = Text(route, "register_ref", false, where);
  next.system = Text(route, "system", false, where);
  if (next.system == nullptr) next.system = req->system;
  next.payload = payload;
  next.metadata = req->metadata;
  return Invoke(&next);
}

// Builds a one-dimensional array with NULLs.
Datum MakeArray(Datum *values, bool *nulls, int count, Oid type) {
  int16 length;
  bool by_value;
  char align;
  get_typlenbyvalalign(type, &length, &by_value, &align);
  int dims[1] = {count};
  int lower[1] = {1};
  return PointerGetDatum(
      construct_md_array(values, nulls, 1, dims, lower, type, length, by_value, align));
}

}  // namespace

// Effects, then the broadcast, then the pipe or forward.
Jsonb *RunWorkflow(OpenActor *actor, const InvokeRequest *req, Jsonb *workflow, Jsonb *response) {
  if (workflow == nullptr) return response;
  if (!JB_ROOT_IS_OBJECT(workflow) || JB_ROOT_IS_SCALAR(workflow))
    Malformed("The workflow is not an object.");
  static const char *const kKeys[] = {"effects", "broadcast", "pipe", "forward"};
  OnlyKeys(&workflow->root, kKeys, 4, "the workflow");
  JsonbContainer *pipe = Object(&workflow->root, "pipe");
  JsonbContainer *forward = Object(&workflow->root, "forward");
  if (pipe != nullptr && forward != nullptr)
    Malformed("A workflow has a pipe or a forward, not both.");
  Jsonb *effects = Member(&workflow->root, "effects");
  if (effects != nullptr) RunEffects(actor->catalog, req, effects);
  JsonbContainer *broadcast = Object(&workflow->root, "broadcast");
  if (broadcast != nullptr) {
    static const char *const kBroadcastKeys[] = {"channel", "action", "payload"};
    OnlyKeys(broadcast, kBroadcastKeys, 3, "the broadcast");
    const char *channel = Text(broadcast, "channel", true, "the broadcast");
    const char *action = Text(broadcast, "action", false, "the broadcast");
    RequireName("channel", channel, strlen(channel));
    if (action != nullptr) RequireName("action", action, strlen(action));
    Jsonb *payload = Member(broadcast, "payload");
    Broadcast(actor->catalog, req->system, channel, action, payload);
    RelayBroadcastToShards(req->system, channel, action, payload);
  }
  if (pipe != nullptr) return Route(req, pipe, "the pipe", response);
  if (forward != nullptr) return Route(req, forward, "the forward", req->payload);
  return response;
}

// One set-based insert of one sealed message per subscriber, run by a worker as the
// subscriber's owner (a broadcaster does not choose whose code its message reaches).
int64 Broadcast(const Catalog *cat, const char *system, const char *channel, const char *action,
                Jsonb *payload) {
  RequireSchedulerDatabase("A broadcast");
  const char *subscribers =
      "SELECT i.name, coalesce(c->>'action', 'receive'), d.registered_by::oid "
      "FROM spawn._definitions d "
      "CROSS JOIN LATERAL jsonb_array_elements(d.channels) c "
      "JOIN spawn._instances i ON i.definition_id = d.id "
      "WHERE d.system = $1 AND c->>'topic' = $2 AND spawn._may('invoke', d.system, d.name, $3)";
  Oid types[4] = {TEXTOID, TEXTOID, OIDOID, TEXTOID};
  Datum args[4] = {CStringGetTextDatum(system), CStringGetTextDatum(channel),
                   ObjectIdGetDatum(GetUserId()),
                   action ? CStringGetTextDatum(action) : static_cast<Datum>(0)};
  SPIPlanPtr plan =
      action == nullptr
          ? PrepareKept(&subscribers_plan, subscribers, 3, types)
          : PrepareKept(&subscribers_with_action_plan,
                        psprintf("%s AND coalesce(c->>'action', 'receive') = $4 AND "
                                 "(d.host_id IS NOT NULL OR EXISTS (SELECT 1 FROM "
                                 "spawn._handlers h WHERE h.definition_id = d.id AND "
                                 "h.action = $4))",
                                 subscribers),
                        4, types);
  ExecutePlanAsOwner(cat, plan, args, nullptr, true, 0);
  const int count = static_cast<int>(SPI_processed);
  if (count == 0) return 0;
  SPITupleTable *rows = SPI_tuptable;
  auto *ids = static_cast<Datum *>(palloc(sizeof(Datum) * count));
  auto *actors = static_cast<Datum *>(palloc(sizeof(Datum) * count));
  auto *actions = static_cast<Datum *>(palloc(sizeof(Datum) * count));
  auto *key_ids = static_cast<Datum *>(palloc0(sizeof(Datum) * count));
  auto *nonces = static_cast<Datum *>(palloc0(sizeof(Datum) * count));
  auto *payloads = static_cast<Datum *>(palloc0(sizeof(Datum) * count));
  auto *no_nulls = static_cast<bool *>(palloc0(sizeof(bool) * count));
  auto *payload_nulls = static_cast<bool *>(palloc(sizeof(bool) * count));
  auto *owners = static_cast<Datum *>(palloc(sizeof(Datum) * count));
  SavedUser saved;
  BecomeOwner(cat->owner, &saved);
  for (int i = 0; i < count; ++i) {
    const char *name = SPI_getvalue(rows->vals[i], rows->tupdesc, 1);
    const int64 id =
        DatumGetInt64(DirectFunctionCall1(nextval_oid, ObjectIdGetDatum(cat->mailbox_sequence)));
    ids[i] = Int64GetDatum(id);
    actors[i] = CStringGetTextDatum(name);
    actions[i] = action ? CStringGetTextDatum(action)
                        : CStringGetTextDatum(SPI_getvalue(rows->vals[i], rows->tupdesc, 2));
    bool isnull;
    owners[i] = SPI_getbinval(rows->vals[i], rows->tupdesc, 3, &isnull);
    payload_nulls[i] = payload == nullptr;
    if (payload != nullptr) {
      SealedValue sealed = SealJsonb(MakeBinding("mailbox", system, name, id), payload);
      key_ids[i] = Int64GetDatum(sealed.key_id);
      nonces[i] = PointerGetDatum(sealed.nonce);
      payloads[i] = PointerGetDatum(sealed.ciphertext);
    }
  }
  RestoreUser(&saved);
  Oid insert_types[8] = {TEXTOID,      INT8ARRAYOID,  TEXTARRAYOID,  TEXTARRAYOID,
                         INT8ARRAYOID, BYTEAARRAYOID, BYTEAARRAYOID, OIDARRAYOID};
  Datum values[8] = {CStringGetTextDatum(system),
                     MakeArray(ids, no_nulls, count, INT8OID),
                     MakeArray(actors, no_nulls, count, TEXTOID),
                     MakeArray(actions, no_nulls, count, TEXTOID),
                     MakeArray(key_ids, payload_nulls, count, INT8OID),
                     MakeArray(nonces, payload_nulls, count, BYTEAOID),
                     MakeArray(payloads, payload_nulls, count, BYTEAOID),
                     MakeArray(owners, no_nulls, count, OIDOID)};
  SPIPlanPtr insert = PrepareKept(
      &insert_plan,
      "INSERT INTO spawn._mailbox (id, system, actor, action, key_id, nonce, payload, source, "
      "deliver_at, run_as) SELECT m.id, $1, m.actor, m.action, m.key_id, m.nonce, m.payload, "
      "'broadcast', clock_timestamp(), m.run_as "
      "FROM unnest($2, $3, $4, $5, $6, $7, $8) AS m(id, actor, action, key_id, nonce, payload, "
      "run_as)",
      8, insert_types);
  ExecutePlanAsOwner(cat, insert, values, nullptr, false, 0);
  WakeWorkersAtCommit();
  return count;
}

}  // namespace spawn
