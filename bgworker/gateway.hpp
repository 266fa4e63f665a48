// The HTTP gateway (docs/gateway.md): what its files share. The access handler
// (gateway_request.cpp) decodes in the C++ zone, runs each endpoint's database work through
// RunRequestTransaction (the PG zone, errors caught there), and encodes the answer in the C++
// zone again; no PostgreSQL error ever longjmps through libmicrohttpd's frames.
#pragma once

#include <array>
#include <cstdint>
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

// Serves one routed request; the endpoints' files.
void ServeRegister(const Request &request, Answer *answer);
void ServeInvoke(const Request &request, const Route &route, Answer *answer);
void ServeSpawn(const Request &request, const Route &route, Answer *answer);
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
