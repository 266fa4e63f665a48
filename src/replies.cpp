// Replies belong to their requester: the notification carries only {"id", "status"} (and the
// SQLSTATE of an error), and reading a reply checks the requester.
#include "src/replies.hpp"

#include "src/lookup.hpp"
#include "src/reply_notices.hpp"
#include "src/sealed.hpp"
#include "src/spi_util.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/acl.h"
#include "utils/json.h"
}

namespace spawn {

namespace {

SPIPlanPtr insert_plan = nullptr;
SPIPlanPtr replace_plan = nullptr;  // the dead letters' error replies

// Columns of spawn._replies.
enum ReplyColumn {
  kId = 1,
  kSystem,
  kActor,
  kAction,
  kStatus,
  kKeyId,
  kNonce,
  kResponse,
  kError,
  kSqlstate,
  kCompletedAt,
  kRequester,
  kDetail,
  kHint,
  kColumnCount = kHint
};

// The column of spawn._mailbox read here: the role that sent the request.
constexpr int kMailboxRunAs = 11;

// Builds the notification JSON: the id and status only, because any role may LISTEN on any
// channel; the requester reads the response with spawn.result or spawn.wait.
char *NotificationPayload(int64 id, const char *status, const char *sqlstate) {
  if (sqlstate == nullptr)
    return psprintf("{\"id\": %lld, \"status\": \"%s\"}", static_cast<long long>(id), status);
  return psprintf("{\"id\": %lld, \"status\": \"%s\", \"sqlstate\": \"%s\"}",
                  static_cast<long long>(id), status, sqlstate);
}

// A text column's value from a string that may be NULL.
void SetText(Datum *value, char *null, const char *text) {
  *value = text ? CStringGetTextDatum(text) : static_cast<Datum>(0);
  *null = text ? ' ' : 'n';
}

// Raises 42501 unless the current user may read the replies of `requester`.
void RequireRequester(int64 id, Oid requester) {
  if (has_privs_of_role(GetUserId(), requester)) return;
  ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                  errmsg("permission denied for request %lld", static_cast<long long>(id)),
                  errhint("Only the role that made a request can read its reply.")));
}

}  // namespace

// Looks in the mailbox, then in the replies. Each lookup reads the latest committed state, and
// a worker deletes a request and stores its reply in one commit: in this order a request that
// is not pending any more at the first lookup has its reply visible at the second. (The other
// order could miss both when that commit fell between the two lookups.)
Reply ReadReply(const Catalog *cat, int64 id) {
  Reply reply{};
  Datum mailbox_values[32];
  bool mailbox_nulls[32];
  bool inserted_here = false;
  // The index holds requests only: a cast's id, which has no reply, is not found there.
  if (FetchLatestByKey(cat->mailbox_relid, cat->mailbox_requests, id, mailbox_values, mailbox_nulls,
                       &inserted_here)) {
    reply.requester = DatumGetObjectId(mailbox_values[kMailboxRunAs - 1]);
    RequireRequester(id, reply.requester);
    reply.status = "pending";
    reply.uncommitted = inserted_here;
    return reply;
  }
  Datum values[kColumnCount];
  bool nulls[kColumnCount];
  if (FetchLatestByKey(cat->replies_relid, cat->replies_pkey, id, values, nulls)) {
    reply.requester = DatumGetObjectId(values[kRequester - 1]);
    RequireRequester(id, reply.requester);
    const char *system = TextDatumGetCString(values[kSystem - 1]);
    reply.actor = TextDatumGetCString(values[kActor - 1]);
    reply.action = TextDatumGetCString(values[kAction - 1]);
    reply.status = TextDatumGetCString(values[kStatus - 1]);
    if (!nulls[kResponse - 1])
      reply.response = OpenJsonb(
          MakeBinding("reply", system, reply.actor, id),
          SealedValue{DatumGetInt64(values[kKeyId - 1]), DatumGetByteaPP(values[kNonce - 1]),
                      DatumGetByteaPP(values[kResponse - 1])},
          psprintf("reply %lld", static_cast<long long>(id)));
    if (!nulls[kError - 1]) reply.error = TextDatumGetCString(values[kError - 1]);
    if (!nulls[kSqlstate - 1]) reply.sqlstate = TextDatumGetCString(values[kSqlstate - 1]);
    if (!nulls[kDetail - 1]) reply.detail = TextDatumGetCString(values[kDetail - 1]);
    if (!nulls[kHint - 1]) reply.hint = TextDatumGetCString(values[kHint - 1]);
    return reply;
  }
  ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                  errmsg("request %lld does not exist", static_cast<long long>(id)),
                  errhint("Request ids come from spawn.invoke_async (a cast has no reply); "
                          "replies are kept for spawn.reply_retention.")));
  return reply;
}

// Inserts the reply and queues the NOTIFY. A request is answered once, and the one way to run
// it again, spawn.retry_dead_letter, deletes its error reply in the same transaction, so the
// ok reply of every request is a plain INSERT: ON CONFLICT's speculative insertion cost an
// index probe and a 48-byte WAL record per reply (docs/benchmarks.md, "Scheduler", session 3).
// Should one conflict anyway, the message's subtransaction fails, like any failure of that
// message alone. The error reply of a dead letter, stored outside any message's subtransaction,
// replaces whatever is there: a conflict must never fail the whole drain transaction.
void StoreReply(const Catalog *cat, const ReplyTarget *target, const Jsonb *response,
                const ErrorData *error) {
  const char *status = error == nullptr ? "ok" : "error";
  const char *sqlstate = error ? unpack_sql_state(error->sqlerrcode) : nullptr;
  Datum values[13];
  char nulls[13];
  memset(nulls, ' ', sizeof nulls);
  values[0] = Int64GetDatum(target->id);
  values[1] = CStringGetTextDatum(target->system);
  values[2] = CStringGetTextDatum(target->actor);
  values[3] = CStringGetTextDatum(target->action);
  values[4] = CStringGetTextDatum(status);
  if (response != nullptr) {
    SealedValue sealed =
        SealJsonb(MakeBinding("reply", target->system, target->actor, target->id), response);
    values[5] = Int64GetDatum(sealed.key_id);
    values[6] = PointerGetDatum(sealed.nonce);
    values[7] = PointerGetDatum(sealed.ciphertext);
  } else {
    nulls[5] = nulls[6] = nulls[7] = 'n';
  }
  SetText(&values[8], &nulls[8],
          error ? (error->message ? error->message : "unknown error") : nullptr);
  SetText(&values[9], &nulls[9], sqlstate);
  values[10] = ObjectIdGetDatum(target->requester);
  SetText(&values[11], &nulls[11], error ? error->detail : nullptr);
  SetText(&values[12], &nulls[12], error ? error->hint : nullptr);
  Oid types[13] = {INT8OID,  TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, BYTEAOID,
                   BYTEAOID, TEXTOID, TEXTOID, OIDOID,  TEXTOID, TEXTOID};
  const char *insert =
      "INSERT INTO spawn._replies AS r (id, system, actor, action, status, key_id, nonce, "
      "response, error, sqlstate, requester, detail, hint) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
  SPIPlanPtr plan =
      error == nullptr
          ? PrepareKept(&insert_plan, insert, 13, types)
          : PrepareKept(&replace_plan,
                        psprintf("%s ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, "
                                 "key_id = EXCLUDED.key_id, nonce = EXCLUDED.nonce, "
                                 "response = EXCLUDED.response, error = EXCLUDED.error, "
                                 "sqlstate = EXCLUDED.sqlstate, detail = EXCLUDED.detail, "
                                 "hint = EXCLUDED.hint, completed_at = now()",
                                 insert),
                        13, types);
  ExecutePlanAsOwner(cat, plan, values, nulls, false, 0);
  if (target->channel != nullptr)
    ReplyNoticeQueue(target->channel, NotificationPayload(target->id, status, sqlstate));
}

}  // namespace spawn
