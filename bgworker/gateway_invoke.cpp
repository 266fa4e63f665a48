// POST /api/v1/system/{system}/actors/{actor}/invoke: an InvocationRequest runs through the
// SQL functions users call (spawn.invoke when synchronous, spawn.cast when async or scheduled),
// so the trust model, single-writer lock, encryption and exactly-once hold as for SQL callers.
// The caller's actor id and the request's metadata reach the handler's context as metadata.
#include "bgworker/gateway.hpp"
#include "bgworker/gateway_stats.hpp"
#include "src/catalog.hpp"
#include "src/core/codec.hpp"
#include "src/core/json_text.hpp"
#include "src/spi_util.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "portability/instr_time.h"
}

namespace spawn::gateway {

namespace {

SPIPlanPtr invoke_plan = nullptr;
SPIPlanPtr cast_plan = nullptr;

// One invocation's arguments (owned by ServeInvoke's frame) and results (request context).
struct InvokeWork {
  const char *system, *actor, *action, *payload, *metadata, *register_ref, *idempotency_key;
  bool async;
  int64 scheduled_to;  // epoch ms, 0: none
  const char *kind = "unknown";
  char *reply = nullptr;
  int64 request_id = 0;
};

// The actor kind's label, from the catalog cache ("unnamed" for an instance).
const char *KindOf(const char *system, const char *actor) {
  const char *kind = "unnamed";
  WithCatalog([&](Catalog *) {
    const Definition *def = CatalogFindByName(system, actor);
    if (def == nullptr) return;
    kind = def->kind == ActorKind::kPooled    ? "pooled"
           : def->kind == ActorKind::kUnnamed ? "unnamed"
                                              : "named";
  });
  return kind;
}

// A text Datum, or NULL.
Datum TextOrNull(const char *text, char *null) {
  *null = text == nullptr ? 'n' : ' ';
  return text == nullptr ? static_cast<Datum>(0) : CStringGetTextDatum(text);
}

// Runs the invocation (PG zone).
void RunInvoke(void *arg) {
  auto *w = static_cast<InvokeWork *>(arg);
  w->kind = KindOf(w->system, w->actor);
  Datum values[8];
  char nulls[9] = "        ";
  values[0] = TextOrNull(w->actor, &nulls[0]);
  values[1] = TextOrNull(w->action, &nulls[1]);
  values[2] = TextOrNull(w->payload, &nulls[2]);
  values[3] = TextOrNull(w->system, &nulls[3]);
  values[4] = TextOrNull(w->metadata, &nulls[4]);
  values[5] = TextOrNull(w->register_ref, &nulls[5]);
  if (!w->async) {
    Oid types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
    SPIPlanPtr plan = PrepareKept(
        &invoke_plan, "SELECT spawn.invoke($1, $2, $3::jsonb, $4, $5::jsonb, $6)::text", 6, types);
    if (SPI_execute_plan(plan, values, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
      elog(ERROR, "spawn: the gateway's invoke statement failed");
    w->reply = RequestCopy(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
    return;
  }
  values[6] = Int64GetDatum(w->scheduled_to);
  values[7] = TextOrNull(w->idempotency_key, &nulls[7]);
  Oid types[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID};
  SPIPlanPtr plan =
      PrepareKept(&cast_plan,
                  "SELECT spawn.cast($1, $2, $3::jsonb, $4, scheduled_to => CASE WHEN $7 > 0 THEN "
                  "pg_catalog.to_timestamp($7::float8 / 1000) END, metadata => $5::jsonb, "
                  "register_ref => $6, idempotency_key => $8)",
                  8, types);
  bool isnull;
  if (SPI_execute_plan(plan, values, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
    elog(ERROR, "spawn: the gateway's cast statement failed");
  w->request_id =
      DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

// The request's metadata as a JSON object, with the caller's id under spawn.caller and
// spawn.caller_system unless the request set those keys; empty when there is nothing.
bool MetadataJson(const wire::InvocationRequest &request, std::string *out) {
  wire::StringMap metadata = request.metadata;
  if (request.caller && !request.caller->name.empty()) {
    metadata.emplace("spawn.caller", request.caller->name);
    metadata.emplace("spawn.caller_system", request.caller->system);
  }
  out->clear();
  if (metadata.empty()) return true;
  *out = "{";
  for (const auto &[key, value] : metadata) {
    if (out->size() > 1) *out += ", ";
    if (!wire::AppendJsonString(key, out)) return false;
    *out += ": ";
    if (!wire::AppendJsonString(value, out)) return false;
  }
  *out += "}";
  return true;
}

// Checks the request against the path and fills in what the body left out; false with a
// message for a request that cannot run.
bool Target(const Route &route, wire::InvocationRequest *r, std::string *message) {
  if (r->system.empty()) r->system = r->actor.system.empty() ? route.system : r->actor.system;
  if (r->actor.name.empty()) r->actor.name = route.actor;
  if (r->system != route.system) {
    *message = "the path names system \"" + route.system + "\" but the body \"" + r->system + "\"";
    return false;
  }
  if (r->actor.name != route.actor) {
    *message =
        "the path names actor \"" + route.actor + "\" but the body \"" + r->actor.name + "\"";
    return false;
  }
  if (r->action.empty()) {
    *message = "InvocationRequest.action_name is empty";
    return false;
  }
  if (r->scheduled_to < 0) {
    *message = "InvocationRequest.scheduled_to must be epoch milliseconds";
    return false;
  }
  if (r->scheduled_to > 0 && !r->async) {
    *message = "a scheduled invocation (scheduled_to) must be async";
    return false;
  }
  return true;
}

}  // namespace

// Serves an invocation.
void ServeInvoke(const Request &request, const Route &route, Answer *answer) {
  wire::InvocationRequest r;
  std::string message, metadata, payload;
  if (request.size == 0) {
    ProtoError(Endpoint::kInvoke, 400, "the body is empty; expected an InvocationRequest", answer);
    return;
  }
  if (!wire::DecodeInvocationRequest(request.body, request.size, nullptr, &r, &message)) {
    ProtoError(Endpoint::kInvoke, 400, "invalid InvocationRequest: " + message, answer);
    return;
  }
  if (!Target(route, &r, &message) || !MetadataJson(r, &metadata)) {
    ProtoError(Endpoint::kInvoke, 400, message.empty() ? "metadata is not UTF-8" : message, answer);
    return;
  }
  if (!request.idempotency_key.empty() && !r.async) {
    ProtoError(Endpoint::kInvoke, 400, "an Idempotency-Key is accepted on async invocations only",
               answer);
    return;
  }
  if (r.payload.kind != wire::Value::Kind::kNone) payload = wire::ValueJson(r.payload);
  InvokeWork work{r.system.c_str(),
                  r.actor.name.c_str(),
                  r.action.c_str(),
                  payload.empty() ? nullptr : payload.c_str(),
                  metadata.empty() ? nullptr : metadata.c_str(),
                  r.register_ref.empty() ? nullptr : r.register_ref.c_str(),
                  request.idempotency_key.empty() ? nullptr : request.idempotency_key.c_str(),
                  r.async,
                  r.scheduled_to};
  instr_time started, elapsed;
  INSTR_TIME_SET_CURRENT(started);
  TxError error;
  const bool ok = RunRequestTransaction("gateway invoke", RunInvoke, &work, &error);
  INSTR_TIME_SET_CURRENT(elapsed);
  INSTR_TIME_SUBTRACT(elapsed, started);
  StatsRecordInvocation(r.system.c_str(), work.kind, ok, INSTR_TIME_GET_DOUBLE(elapsed));
  if (!ok) {
    const bool not_found = error.sqlstate == ERRCODE_UNDEFINED_OBJECT;
    if (!wire::EncodeInvocationResponse(
            not_found ? wire::Status::kActorNotFound : wire::Status::kError, ErrorText(error),
            r.system, r.actor, wire::Value{}, r.spelling, &answer->body, &message)) {
      ProtoError(Endpoint::kInvoke, 500, ErrorText(error), answer);
      return;
    }
    answer->status = 500;
    return;
  }
  wire::Value reply;
  if (work.reply != nullptr && !wire::ValueFromJson(work.reply, &reply, &message)) {
    ProtoError(Endpoint::kInvoke, 500, "the reply cannot be encoded: " + message, answer);
    return;
  }
  if (r.async) answer->request_id = std::to_string(work.request_id);
  if (!wire::EncodeInvocationResponse(wire::Status::kOk, "", r.system, r.actor, reply, r.spelling,
                                      &answer->body, &message))
    ProtoError(Endpoint::kInvoke, 500, "the reply cannot be encoded: " + message, answer);
}

}  // namespace spawn::gateway
