// The HTTP gateway's routes: which endpoint a method and path name (docs/gateway.md). Pure C++
// zone, fed by the network (a libFuzzer target covers it).
#pragma once

#include <string>

namespace spawn::gateway {

enum class Endpoint {
  kRegister,   // POST /api/v1/system
  kSpawn,      // POST /api/v1/system/{system}/actors/spawn
  kInvoke,     // POST /api/v1/system/{system}/actors/{actor}/invoke
  kHealth,     // GET /health
  kLiveness,   // GET /health/liveness
  kReadiness,  // GET /health/readiness
  kMetrics,    // GET /metrics
  kNotFound,
  kMethodNotAllowed,
  kBadPath,  // a path that cannot be decoded (bad percent escape, NUL, not UTF-8)
};

// The endpoint of a request with the path's system and actor, percent-decoded. `allow` is the
// Allow header's value for kMethodNotAllowed.
struct Route {
  Endpoint endpoint = Endpoint::kNotFound;
  std::string system, actor;
  std::string allow;
};

// Routes a request. `path` is the request target without the query string (what
// libmicrohttpd passes), `method` its method; HEAD is not served (405 on GET endpoints too).
Route RouteRequest(const std::string &method, const std::string &path);

// Decodes %XX escapes; false on a malformed escape, a NUL byte or text that is not UTF-8.
bool PercentDecode(const std::string &text, std::string *out);

// The endpoint's label in metrics and logs ("invoke", "register", ...).
const char *EndpointName(Endpoint endpoint);

}  // namespace spawn::gateway
