// An external actor host's address and options (spawn.register_host), parsed once: when it is
// registered (to refuse bad input) and when the catalog loads it (to call it).
#pragma once

#include "src/pg.hpp"

namespace spawn {

// Where and how to reach one host.
struct HostConfig {
  int32 id;
  char name[NAMEDATALEN];
  char *actions_url;       // <url>/api/v1/actors/actions
  int connect_timeout_ms;  // 0: spawn.host_connect_timeout
  int request_timeout_ms;  // 0: spawn.host_request_timeout
  bool tls_verify;         // check the server's certificate and name (default true)
  char *ca_file;           // NULL: the system's certificate store
  int header_count;
  char **headers;    // extra request headers, "Name: value"
  bool v2_spelling;  // the 2.x package names ("spawn") instead of v1's ("eigr.functions.protocol")
};

// Parses a host's URL and options document into `out` (strings allocated in `context`). Raises
// 22023 naming the problem for a URL that is not http(s)://host[:port][/path] or for an
// unknown, mistyped or out-of-range option.
void ParseHostConfig(const char *url, Jsonb *options, MemoryContext context, HostConfig *out);

// The connect and request timeouts that apply to a host now.
int HostConnectTimeoutMs(const HostConfig *host);
int HostRequestTimeoutMs(const HostConfig *host);

}  // namespace spawn
