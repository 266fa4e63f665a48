// HTTP calls to external actor hosts, with libcurl's multi interface driven from the backend's
// own wait loop: the sockets wait in a WaitEventSet next to the process latch, so a cancel,
// statement_timeout, SIGTERM or postmaster death ends a call at once. One connection cache per
// process keeps connections to hosts alive between calls. No threads.
#pragma once

#include "src/host_config.hpp"
#include "src/pg.hpp"

namespace spawn {

// How a call ended.
enum class HttpOutcome {
  kAnswered,  // the host sent a complete HTTP response (any status)
  kRefused,   // could not connect (refused, unreachable, unknown name, TLS handshake)
  kTimedOut,  // the connect or request timeout passed
  kBroken,    // the connection failed mid-call, or the response was malformed
  kTooLarge,  // the response body passed kMaxResponseBytes
};

// The response of an answered call; body is palloc'd in the caller's memory context.
struct HttpResponse {
  long status;
  char *body;
  size_t size;
};

// Size of the buffer that receives a failed call's description.
inline constexpr size_t kHttpErrorBytes = 256;

// Longest response body accepted.
inline constexpr size_t kMaxResponseBytes = 64 * 1024 * 1024;

// Posts `body` (raw protobuf) to the host's action endpoint and waits for the answer. On any
// outcome but kAnswered, `error` holds libcurl's description. Interrupts raise as usual.
HttpOutcome HttpPostAction(const HostConfig *host, const char *body, size_t size,
                           HttpResponse *response, char *error, size_t error_size);

}  // namespace spawn
