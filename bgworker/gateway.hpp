// The HTTP gateway (docs/gateway.md): what its files share. The access handler
// (gateway_request.cpp) decodes in the C++ zone; the endpoints that write (invoke, spawn,
// registration) become Jobs that wait, their connection suspended, for the next batch
// (gateway_batch.cpp), which runs them in one transaction, each in its own subtransaction
// (RunBatchTransaction, the PG zone, errors caught there), and answers them after the commit.
// Health and metrics run at once through RunRequestTransaction. No PostgreSQL error ever
// longjmps through libmicrohttpd's frames.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "src/core/gateway_route.hpp"
#include "src/pg.hpp"

namespace spawn::gateway {

// One request as the endpoints see it. The body stays owned by the access handler.
struct Request {
  const uint8_t *body = nullptr;
  size_t size = 0;
  std::string idempotency_key;     // the Idempotency-Key header, or empty
  std::string revision;            // the ?revision= query argument, or empty
  std::array<uint8_t, 16> peer{};  // the peer's address, IPv4 mapped
  std::string peer_text;           // the peer's address as text (no port)
  bool peer_v6 = false;            // the peer connected over IPv6 (not mapped)
};

// An answer, built in the C++ zone and handed to libmicrohttpd.
struct Answer {
  unsigned int status = 200;
  std::string body;
  std::string content_type = "application/octet-stream";
  std::string allow;       // the Allow header of a 405
  std::string request_id;  // X-Spawn-Request-Id of an accepted async invoke
};

// An error caught in a request's transaction; the strings live in the request's memory context.
struct TxError {
  const char *message = nullptr;
  const char *detail = nullptr;
  int sqlstate = 0;
};

// A request's database work, waiting for its batch. Built by its endpoint in the C++ zone once
// the request is decoded and valid; owned by the connection's state until it is answered.
class Job {
 public:
  virtual ~Job() = default;
  // The work (PG zone: no RAII object in its frame), in the request's own subtransaction as
  // spawn.http_role with SPI connected; it may raise.
  virtual void Run() = 0;
  // The answer once the batch is over (C++ zone): ok when the work succeeded and the batch
  // committed; else `error` says why (its strings live in the request context).
  virtual void Finish(bool ok, const TxError &error, Answer *answer) = 0;
  // What pg_stat_activity shows while the job runs alone.
  virtual const char *What() const = 0;
  // The jobs of a batch run in order of this key (a stable sort, so requests on one actor keep
  // their order): every batch takes its actors' locks in the same order, so two batches never
  // wait for each other in a cycle. "system\x1factor" of the actor the job writes.
  std::string order;
  // Runs in a transaction of its own (registration changes the catalog).
  bool alone = false;
  // Set by the batch before Run: no other job of this batch ran before this one.
  bool first_in_batch = false;
  // Set by Run when it did nothing because it must be the first of a batch (a synchronous call
  // to an external host: the host may call the gateway back, and the locks that earlier jobs
  // of the batch hold until the commit must not make that call wait for this one). The batch
  // then commits without it, and it runs first in the next one.
  bool deferred = false;
};

// Runs fn(arg) in its own transaction as spawn.http_role, with SPI connected and search_path
// pinned to pg_catalog, pg_temp. On an error (or a C++ exception) the transaction is rolled
// back, *error filled and false returned. `what` shows in pg_stat_activity.
bool RunRequestTransaction(const char *what, void (*fn)(void *), void *arg, TxError *error);

// The memory context of the request being served, reset before the next one; what the
// endpoints copy out of a transaction lives here.
MemoryContext RequestContext();

// Copies `text` (NULL stays NULL) into the request's memory context.
char *RequestCopy(const char *text);

// Resolves spawn.http_role; false when it cannot be used (and why is logged when `log`).
bool ResolveGatewayRole(bool log);

// What one job of a batch came to.
struct JobOutcome {
  bool ran = false;  // the job ran in this batch (a batch may stop before its budget's end)
  bool ok = false;   // it succeeded (its subtransaction was released)
  TxError error;     // else why
};

// Runs jobs[0..count) in one transaction as spawn.http_role, each in its own subtransaction
// (an error rolls back that job only), in order, until spawn.http_batch_time has passed (the
// first job always runs), then commits. Returns how many ran; outcomes[i] says how job i
// ended. When the commit fails (*committed false), every job that ran is marked failed with
// the commit's error and nothing of the batch was applied.
int RunBatchTransaction(Job *const *jobs, int count, JobOutcome *outcomes, bool *committed);

// Decodes and checks a request of a writing endpoint (the endpoints' files): the job to run,
// or nullptr when *answer already holds the answer (a bad request).
std::unique_ptr<Job> PrepareRegister(const Request &request, Answer *answer);
std::unique_ptr<Job> PrepareInvoke(const Request &request, const Route &route, Answer *answer);
std::unique_ptr<Job> PrepareSpawn(const Request &request, const Route &route, Answer *answer);
void ServeHealth(Endpoint endpoint, Answer *answer);
void ServeMetrics(Answer *answer);

// A JSON answer {"status": ..., "message": ...} with the given HTTP status.
void JsonAnswer(unsigned int status, const char *state, const std::string &message, Answer *answer);

// The error's message, with its detail when it has one.
std::string ErrorText(const TxError &error);

// The access handler and completion callback given to libmicrohttpd (gateway_request.cpp).
// `index` is the gateway process's number (labels in metrics).
void SetGatewayIndex(int index);

}  // namespace spawn::gateway

namespace spawn::gateway {

// The endpoint's own reply message (RegistrationResponse, InvocationResponse or SpawnResponse)
// with status ERROR and `message`, answered with the HTTP status: SDKs decode the body whatever
// the status, so every failure of a protobuf endpoint carries one.
void ProtoError(Endpoint endpoint, unsigned int status, const std::string &message, Answer *answer);

}  // namespace spawn::gateway
