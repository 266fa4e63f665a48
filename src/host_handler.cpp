// In a scheduler worker a host that just failed to connect or timed out is not called again for
// kHostPauseMs: the messages for it fail at once (and are retried with the usual backoff), so one
// slow host holds a worker's batch up for at most one timeout, not one per message.
// An HTTP call is not rolled back with the transaction: hosts must be idempotent per
// (actor, revision) (docs/external-hosts.md).
#include "src/host_handler.hpp"

#include "src/host_stats.hpp"
#include "src/core/host_wire.hpp"
#include "src/http_client.hpp"
#include "src/protobuf_memory.hpp"

extern "C" {
#include "postmaster/bgworker.h"
#include "utils/timestamp.h"
}

namespace spawn {

namespace {

constexpr int kHostPauseMs = 1000;
constexpr int kMaxPaused = 32;
constexpr int kBodyExcerpt = 500;

// Hosts this worker saw fail recently, and when.
struct PausedHost {
  int32 host_id;
  TimestampTz failed_at;
};
PausedHost paused[kMaxPaused];

// Remembers that a host failed to answer (workers only).
void PauseHost(int32 host_id) {
  if (!IsBackgroundWorker) return;
  PausedHost *slot = &paused[0];
  for (PausedHost &entry : paused) {
    if (entry.host_id == host_id) {
      slot = &entry;
      break;
    }
    if (entry.failed_at < slot->failed_at) slot = &entry;
  }
  *slot = PausedHost{host_id, GetCurrentTimestamp()};
}

// Raises at once when this worker saw the host fail within kHostPauseMs.
void RequireHostNotPaused(const HostConfig *host) {
  if (!IsBackgroundWorker) return;
  for (const PausedHost &entry : paused)
    if (entry.host_id == host->id &&
        !TimestampDifferenceExceeds(entry.failed_at, GetCurrentTimestamp(), kHostPauseMs))
      ereport(ERROR, (errcode(ERRCODE_CONNECTION_FAILURE),
                      errmsg("actor host \"%s\" is unavailable", host->name),
                      errdetail("It failed to answer less than %d ms ago; the message is retried "
                                "later.",
                                kHostPauseMs)));
}

// A printable excerpt of a response body, for error details.
char *BodyExcerpt(const HttpResponse *response) {
  const size_t length = Min(response->size, static_cast<size_t>(kBodyExcerpt));
  char *text = pnstrdup(response->body, length);
  for (char *c = text; *c; ++c) {
    const auto byte = static_cast<unsigned char>(*c);
    if (byte >= 0x80) *c = '?';  // any encoding's message stays valid in the server's
    if (byte < 0x20 && byte != '\n') *c = ' ';
  }
  return text;
}

// Raises the error for a call that got no usable HTTP answer.
[[noreturn]] void RaiseTransportFailure(const HostConfig *host, HttpOutcome outcome,
                                        const char *error) {
  switch (outcome) {
    case HttpOutcome::kRefused:
      ereport(ERROR,
              (errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
               errmsg("could not connect to actor host \"%s\"", host->name), errdetail("%s", error),
               errhint("Check that the host runs at the url spawn.hosts shows.")));
    case HttpOutcome::kTimedOut:
      ereport(ERROR, (errcode(ERRCODE_CONNECTION_FAILURE),
                      errmsg("actor host \"%s\" did not answer in time", host->name),
                      errdetail("%s (connect timeout %d ms, request timeout %d ms).", error,
                                HostConnectTimeoutMs(host), HostRequestTimeoutMs(host))));
    case HttpOutcome::kTooLarge:
      ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                      errmsg("response of actor host \"%s\" is too large", host->name),
                      errdetail("Responses are limited to %zu bytes.", kMaxResponseBytes)));
    default:
      ereport(ERROR, (errcode(ERRCODE_CONNECTION_FAILURE),
                      errmsg("connection to actor host \"%s\" failed", host->name),
                      errdetail("%s", error)));
  }
}

// Raises the error for an answer other than 200.
[[noreturn]] void RaiseFailedAction(const HostConfig *host, const HandlerCall *call,
                                    const HttpResponse *response) {
  const bool empty = response->size == 0;
  ereport(ERROR, (errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
                  errmsg("actor host \"%s\" failed action \"%s\" (HTTP %ld)", host->name,
                         call->action, response->status),
                  empty ? errdetail("The host's handler raised an error; see the host's log.")
                        : errdetail("The host said: %s", BodyExcerpt(response))));
}

// Serializes a jsonb value, or NULL.
const char *JsonText(const Jsonb *value) {
  if (value == nullptr) return nullptr;
  return JsonbToCString(nullptr, &const_cast<Jsonb *>(value)->root, VARSIZE(value));
}

// Parses a JSON text from the answer into jsonb, or NULL.
Jsonb *ToJsonb(const char *text) {
  if (text == nullptr) return nullptr;
  return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

// Encodes the call into palloc'd bytes.
char *EncodeCall(const HandlerCall *call, const HostConfig *host, size_t *size) {
  const Definition *def = call->definition;
  HostRequest request{def->system,
                      call->actor,
                      def->kind == ActorKind::kUnnamed ? def->name : nullptr,
                      call->action,
                      def->stateful && !call->state_unset ? JsonText(call->state) : nullptr,
                      JsonText(call->payload),
                      call->caller,
                      JsonText(call->metadata),
                      host->v2_spelling};
  unsigned char *bytes = nullptr;
  char error[256];
  if (!EncodeHostRequest(&request, &bytes, size, error, sizeof error))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("cannot encode the invocation for actor host \"%s\"", host->name),
                    errdetail("%s", error)));
  char *copy = static_cast<char *>(
      MemoryContextAllocExtended(CurrentMemoryContext, Max(*size, 1), MCXT_ALLOC_NO_OOM));
  if (copy != nullptr) memcpy(copy, bytes, *size);
  free(bytes);
  if (copy == nullptr) ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
  return copy;
}

// Decodes a 200 answer into the result; raises 08P01 for garbage or another actor's answer.
void ApplyAnswer(const HandlerCall *call, const HostConfig *host, const HttpResponse *response,
                 HandlerResult *result) {
  ProtobufCAllocator allocator = ProtobufAllocatorFor(CurrentMemoryContext);
  HostAnswer answer;
  char error[256];
  const int64 now_ms = (GetCurrentTimestamp() / 1000) + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
                                                            static_cast<int64>(SECS_PER_DAY) * 1000;
  if (!DecodeHostAnswer(reinterpret_cast<const unsigned char *>(response->body), response->size,
                        &allocator, now_ms, &answer, error, sizeof error))
    ereport(ERROR, (errcode(ERRCODE_PROTOCOL_VIOLATION),
                    errmsg("actor host \"%s\" sent an invalid response", host->name),
                    errdetail("%s", error)));
  // Copy everything out before anything can raise, so the malloc'd answer is always freed.
  const Definition *def = call->definition;
  const bool other_actor = answer.actor_name[0] != '\0' &&
                           strcmp(answer.actor_name, call->actor) != 0 &&
                           strcmp(answer.actor_name, def->name) != 0;
  char *answered_for = pstrdup(answer.actor_name);
  char *state = answer.state_json ? pstrdup(answer.state_json) : nullptr;
  char *reply = answer.reply_json ? pstrdup(answer.reply_json) : nullptr;
  char *workflow = answer.workflow_json ? pstrdup(answer.workflow_json) : nullptr;
  result->checkpoint = answer.checkpoint;
  HostAnswerFree(&answer);
  if (other_actor)
    ereport(ERROR, (errcode(ERRCODE_PROTOCOL_VIOLATION),
                    errmsg("actor host \"%s\" answered for actor \"%s\" instead of \"%s\"",
                           host->name, answered_for, call->actor)));
  result->state = def->stateful ? ToJsonb(state) : nullptr;
  result->response = ToJsonb(reply);
  result->workflow = ToJsonb(workflow);
}

// Milliseconds since `start`.
double ElapsedMs(TimestampTz start) {
  return static_cast<double>(GetCurrentTimestamp() - start) / 1000.0;
}

}  // namespace

// Encode, post, check, decode; every outcome is counted in the host's statistics.
void CallHostHandler(const HandlerCall *call, const HostConfig *host, HandlerResult *result) {
  RequireHostNotPaused(host);
  size_t size = 0;
  char *body = EncodeCall(call, host, &size);
  HttpResponse response;
  char error[kHttpErrorBytes];
  const TimestampTz start = GetCurrentTimestamp();
  const HttpOutcome outcome = HttpPostAction(host, body, size, &response, error, sizeof error);
  const double latency = ElapsedMs(start);
  if (outcome != HttpOutcome::kAnswered) {
    HostStatsRecord(host->id, host->name, latency, error);
    if (outcome == HttpOutcome::kRefused || outcome == HttpOutcome::kTimedOut) PauseHost(host->id);
    RaiseTransportFailure(host, outcome, error);
  }
  if (response.status != 200) {
    HostStatsRecord(host->id, host->name, latency, psprintf("HTTP %ld", response.status));
    RaiseFailedAction(host, call, &response);
  }
  MemoryContext caller = CurrentMemoryContext;
  volatile bool decoded = false;
  PG_TRY();
  {
    ApplyAnswer(call, host, &response, result);
    decoded = true;
  }
  PG_FINALLY();
  {
    MemoryContextSwitchTo(caller);
    HostStatsRecord(host->id, host->name, latency, decoded ? nullptr : "invalid response");
  }
  PG_END_TRY();
}

}  // namespace spawn
