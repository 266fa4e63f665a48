// Listening sockets of the gateway. Addresses are resolved with getaddrinfo (so "localhost"
// gives 127.0.0.1 and ::1, "*" every IPv4 and IPv6 address); an address that cannot be bound
// is logged and skipped, like PostgreSQL's own listen_addresses.
#include "bgworker/gateway_listen.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/pg.hpp"
#include "src/settings.hpp"

namespace spawn::gateway {

namespace {

// Binds and listens on one resolved address; -1 (logged) on failure.
int Listen(const addrinfo *ai, const char *host) {
  const int fd =
      socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    ereport(LOG, (errmsg("spawn: gateway could not create a socket for \"%s\": %m", host)));
    return -1;
  }
  const int on = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  if (ai->ai_family == AF_INET6) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
    ereport(LOG, (errmsg("spawn: gateway could not listen on \"%s\" port %d: %m", host,
                         setting_http_port)));
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

// Opens the sockets of every listen address.
int OpenListeners(int *sockets, int max) {
  int count = 0;
  char *list = pstrdup(setting_http_listen_addresses);
  char port[16];
  snprintf(port, sizeof port, "%d", setting_http_port);
  for (char *save = nullptr, *host = strtok_r(list, ", ", &save); host != nullptr && count < max;
       host = strtok_r(nullptr, ", ", &save)) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo *found = nullptr;
    const int rc = getaddrinfo(strcmp(host, "*") == 0 ? nullptr : host, port, &hints, &found);
    if (rc != 0) {
      ereport(LOG, (errmsg("spawn: gateway could not resolve listen address \"%s\": %s", host,
                           gai_strerror(rc))));
      continue;
    }
    for (const addrinfo *ai = found; ai != nullptr && count < max; ai = ai->ai_next) {
      const int fd = Listen(ai, host);
      if (fd >= 0) sockets[count++] = fd;
    }
    freeaddrinfo(found);
  }
  pfree(list);
  return count;
}

}  // namespace spawn::gateway
