// POST /api/v1/system/{system}/actors/{actor}/invoke: an InvocationRequest runs through the
// SQL functions users call (spawn.invoke when synchronous, spawn.cast when async or scheduled),
// so the trust model, single-writer lock, encryption and exactly-once hold as for SQL callers.
// The caller's actor id and the request's metadata reach the handler's context as metadata.
// The invocation is a job of the process's next batch (gateway_batch.cpp), ordered by its
// target actor.
#include "bgworker/gateway.hpp"
#include "bgworker/gateway_stats.hpp"
#include "src/catalog.hpp"
#include "src/core/codec.hpp"
#include "src/core/json_text.hpp"
#include "src/spi_util.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "portability/instr_time.h"
}

namespace spawn::gateway {

namespace {

SPIPlanPtr invoke_plan = nullptr;
SPIPlanPtr cast_plan = nullptr;

// One invocation's arguments (owned by its job) and results (request context).
struct InvokeWork {
  const char *system, *actor, *action, *payload, *metadata, *register_ref, *idempotency_key;
  bool async;
  int64 scheduled_to;  // epoch ms, 0: none
  const char *kind = "unknown";
  char *reply = nullptr;
  int64 request_id = 0;
  bool first_in_batch = false;  // copied from the job before it runs
  bool deferred = false;        // copied back to the job
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

// True when the invocation's action is served by an external host: the handler of the named
// actor, of an existing instance's definition, or of the register_ref parent it would be
// spawned from. Reads the catalog cache and, for an instance, its row's definition (no lock).
bool CallsHost(const InvokeWork *w) {
  bool host = false;
  WithCatalog([&](Catalog *catalog) {
    const Definition *def = CatalogFindByName(w->system, w->actor);
    if (def == nullptr) {
      InstanceRow row;
      if (StateFetch(catalog, w->system, w->actor, &row))
        def = CatalogFindById(row.definition_id);
      else if (w->register_ref != nullptr)
        def = CatalogFindByName(w->system, w->register_ref);
    }
    if (def == nullptr) return;
    const Handler *handler = DefinitionActionHandler(def, w->action);
    host = handler != nullptr && handler->host != nullptr;
  });
  return host;
}

// A text Datum, or NULL.
Datum TextOrNull(const char *text, char *null) {
  *null = text == nullptr ? 'n' : ' ';
  return text == nullptr ? static_cast<Datum>(0) : CStringGetTextDatum(text);
}

// Runs the invocation (PG zone); a synchronous call of a host's action that is not first in
// its batch is deferred instead (Job::deferred).
void RunInvoke(void *arg) {
  auto *w = static_cast<InvokeWork *>(arg);
  if (!w->async && !w->first_in_batch && CallsHost(w)) {
    w->deferred = true;
    return;
  }
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

// An invocation waiting for its batch: the decoded request, the arguments its work reads, and
// when it was queued (the latency recorded in the metrics runs from there to the answer).
class InvokeJob : public Job {
 public:
  // Takes the decoded request and its JSON texts.
  InvokeJob(wire::InvocationRequest request, std::string payload, std::string metadata,
            std::string idempotency_key)
      : r_(std::move(request)),
        payload_(std::move(payload)),
        metadata_(std::move(metadata)),
        idempotency_key_(std::move(idempotency_key)) {
    work_ = InvokeWork{r_.system.c_str(),
                       r_.actor.name.c_str(),
                       r_.action.c_str(),
                       payload_.empty() ? nullptr : payload_.c_str(),
                       metadata_.empty() ? nullptr : metadata_.c_str(),
                       r_.register_ref.empty() ? nullptr : r_.register_ref.c_str(),
                       idempotency_key_.empty() ? nullptr : idempotency_key_.c_str(),
                       r_.async,
                       r_.scheduled_to};
    order = r_.system + '\x1f' + r_.actor.name;
    INSTR_TIME_SET_CURRENT(queued_);
  }

  // Runs the invocation (PG zone).
  void Run() override {
    work_.first_in_batch = first_in_batch;
    work_.deferred = false;
    RunInvoke(&work_);
    deferred = work_.deferred;
  }

  // The InvocationResponse: the reply, or the error with ACTOR_NOT_FOUND for SQLSTATE 42704.
  void Finish(bool ok, const TxError &error, Answer *answer) override {
    std::string message;
    instr_time elapsed;
    INSTR_TIME_SET_CURRENT(elapsed);
    INSTR_TIME_SUBTRACT(elapsed, queued_);
    StatsRecordInvocation(r_.system.c_str(), work_.kind, ok, INSTR_TIME_GET_DOUBLE(elapsed));
    if (!ok) {
      const bool not_found = error.sqlstate == ERRCODE_UNDEFINED_OBJECT;
      if (!wire::EncodeInvocationResponse(
              not_found ? wire::Status::kActorNotFound : wire::Status::kError, ErrorText(error),
              r_.system, r_.actor, wire::Value{}, r_.spelling, &answer->body, &message)) {
        ProtoError(Endpoint::kInvoke, 500, ErrorText(error), answer);
        return;
      }
      answer->status = 500;
      return;
    }
    wire::Value reply;
    if (work_.reply != nullptr && !wire::ValueFromJson(work_.reply, &reply, &message)) {
      ProtoError(Endpoint::kInvoke, 500, "the reply cannot be encoded: " + message, answer);
      return;
    }
    if (r_.async) answer->request_id = std::to_string(work_.request_id);
    if (!wire::EncodeInvocationResponse(wire::Status::kOk, "", r_.system, r_.actor, reply,
                                        r_.spelling, &answer->body, &message))
      ProtoError(Endpoint::kInvoke, 500, "the reply cannot be encoded: " + message, answer);
  }

  // Shown in pg_stat_activity.
  const char *What() const override { return "gateway invoke"; }

 private:
  wire::InvocationRequest r_;
  std::string payload_, metadata_, idempotency_key_;
  InvokeWork work_{};
  instr_time queued_;
};

}  // namespace

// Decodes and checks an invocation; its job, or nullptr with the 400 in *answer.
std::unique_ptr<Job> PrepareInvoke(const Request &request, const Route &route, Answer *answer) {
  wire::InvocationRequest r;
  std::string message, metadata, payload;
  if (request.size == 0) {
    ProtoError(Endpoint::kInvoke, 400, "the body is empty; expected an InvocationRequest", answer);
    return nullptr;
  }
  if (!wire::DecodeInvocationRequest(request.body, request.size, nullptr, &r, &message)) {
    ProtoError(Endpoint::kInvoke, 400, "invalid InvocationRequest: " + message, answer);
    return nullptr;
  }
  if (!Target(route, &r, &message) || !MetadataJson(r, &metadata)) {
    ProtoError(Endpoint::kInvoke, 400, message.empty() ? "metadata is not UTF-8" : message, answer);
    return nullptr;
  }
  if (!request.idempotency_key.empty() && !r.async) {
    ProtoError(Endpoint::kInvoke, 400, "an Idempotency-Key is accepted on async invocations only",
               answer);
    return nullptr;
  }
  if (r.payload.kind != wire::Value::Kind::kNone) payload = wire::ValueJson(r.payload);
  return std::make_unique<InvokeJob>(std::move(r), std::move(payload), std::move(metadata),
                                     request.idempotency_key);
}

}  // namespace spawn::gateway
