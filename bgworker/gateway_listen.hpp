// The gateway's listening sockets: one per address of spawn.http_listen_addresses, bound with
// SO_REUSEPORT so that every gateway process listens on the same port and the kernel spreads
// new connections among them.
#pragma once

namespace spawn::gateway {

// Most sockets OpenListeners opens.
inline constexpr int kMaxListeners = 8;

// Opens non-blocking listening sockets on spawn.http_port for every listen address into
// `sockets`; returns how many (0: none could be opened; each failure is logged).
int OpenListeners(int *sockets, int max);

}  // namespace spawn::gateway
