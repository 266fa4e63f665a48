// Calling an action served by an external actor host: the third handler kind, next to SQL and
// PL functions (dispatch.hpp). The call happens inside the invocation, under the actor's lock,
// and its result goes through the same state, reply and workflow path as a function's.
#pragma once

#include "src/dispatch.hpp"
#include "src/host_config.hpp"

namespace spawn {

// Posts the invocation to the host and turns its answer into a HandlerResult. Raises with the
// host's name for a host that cannot be reached (08001), times out or breaks the connection
// (08006), answers garbage or for another actor (08P01), or reports a failed action (38000,
// with the host's own message); the state is then unchanged.
void CallHostHandler(const HandlerCall *call, const HostConfig *host, HandlerResult *result);

}  // namespace spawn
