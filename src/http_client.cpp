// libcurl runs in "multi socket" mode: it tells us (OnSocket, OnTimer) which sockets to watch
// and when it next needs the clock, and the wait happens in WaitEventSetWait next to MyLatch.
// Its callbacks never call PostgreSQL (they only record what curl asked for or copy bytes into
// malloc'd memory), so an error raised in the wait loop unwinds through plain C frames only;
// PG_CATCH then detaches the transfer before re-raising.
//
// Per call, only what changes is set: the easy handle keeps the host's options and header list
// until another host (or a changed one) is called, and the wait set is kept while curl watches
// the same connection (see ConfigureHost and PrepareWaitSet for why each is safe).
//
// Security: redirects are not followed, proxies from the environment are ignored, and only
// http and https are spoken, so a call reaches exactly the address its host was registered with.
#include "src/http_client.hpp"

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

extern "C" {
#include "storage/latch.h"
#include "utils/wait_event.h"
}

namespace spawn {

namespace {

constexpr int kMaxSockets = 16;

// A socket curl asked us to watch, and for what (CURL_POLL_IN/OUT/INOUT).
struct Watched {
  curl_socket_t fd;
  int what;
};

// The response body being received (malloc'd: written from curl's callback).
struct Sink {
  char *data;
  size_t size;
  size_t capacity;
  bool too_large;
  bool out_of_memory;
};

// The host options the easy handle is configured with (malloc'd copies), compared with the
// called host on every call: the catalog may free or change a HostConfig at any reload.
struct ConfiguredHost {
  bool valid;
  char *actions_url;
  bool tls_verify;
  char *ca_file;
  int header_count;
  char **headers;
  curl_slist *header_list;  // the request headers the handle points at
  CURLU *url;               // actions_url parsed once; the handle points at it (CURLOPT_CURLU)
};

// The process's wait set and the sockets it holds, reused while curl watches the same sockets.
struct KeptWaitSet {
  WaitEventSet *set;  // NULL: none
  int count;
  curl_socket_t fds[kMaxSockets];
  int events[kMaxSockets];
  int positions[kMaxSockets];  // of each socket's event in the set
  Latch *latch;                // MyLatch when it was built
  uint64 generation;           // socket_generation when it was built
  bool reusable;               // every socket in it is one curl opened through OnOpenSocket
};

CURLM *multi = nullptr;  // per process; its connection cache keeps host connections alive
CURL *easy = nullptr;    // reused for every call
char error_buffer[CURL_ERROR_SIZE];
ConfiguredHost configured;
Watched watched[kMaxSockets];
int watched_count = 0;
long timer_ms = -1;  // curl's next deadline; -1: none
Sink sink;
KeptWaitSet kept;
// Connection sockets curl opened and has not closed (OnOpenSocket / OnCloseSocket), and a
// counter bumped at every open and close: a kept wait set is only trusted while it is unchanged.
curl_socket_t open_sockets[kMaxSockets];
int open_socket_count = 0;
uint64 socket_generation = 0;

// Records which sockets curl wants watched (curl's CURLMOPT_SOCKETFUNCTION).
int OnSocket(CURL *, curl_socket_t fd, int what, void *, void *) {
  for (int i = 0; i < watched_count; ++i) {
    if (watched[i].fd != fd) continue;
    if (what == CURL_POLL_REMOVE)
      watched[i] = watched[--watched_count];
    else
      watched[i].what = what;
    return 0;
  }
  if (what == CURL_POLL_REMOVE) return 0;
  if (watched_count == kMaxSockets) return -1;  // curl fails the transfer
  watched[watched_count++] = Watched{fd, what};
  return 0;
}

// Opens a connection socket for curl and remembers it (CURLOPT_OPENSOCKETFUNCTION).
curl_socket_t OnOpenSocket(void *, curlsocktype, curl_sockaddr *address) {
  const curl_socket_t fd = socket(address->family, address->socktype, address->protocol);
  if (fd == CURL_SOCKET_BAD) return fd;
  ++socket_generation;
  if (open_socket_count < kMaxSockets) open_sockets[open_socket_count++] = fd;
  return fd;
}

// Closes a socket curl opened and forgets it (CURLOPT_CLOSESOCKETFUNCTION).
int OnCloseSocket(void *, curl_socket_t fd) {
  ++socket_generation;
  for (int i = 0; i < open_socket_count; ++i)
    if (open_sockets[i] == fd) {
      open_sockets[i] = open_sockets[--open_socket_count];
      break;
    }
  return close(fd);
}

// Records curl's next deadline (CURLMOPT_TIMERFUNCTION).
int OnTimer(CURLM *, long timeout_ms, void *) {
  timer_ms = timeout_ms;
  return 0;
}

// Appends received body bytes; returning less than given makes curl fail the transfer.
size_t OnData(char *bytes, size_t size, size_t count, void *) {
  const size_t length = size * count;
  if (sink.size + length > kMaxResponseBytes) {
    sink.too_large = true;
    return 0;
  }
  if (sink.size + length > sink.capacity) {
    size_t capacity = sink.capacity == 0 ? 4096 : sink.capacity * 2;
    while (capacity < sink.size + length) capacity *= 2;
    char *grown = static_cast<char *>(realloc(sink.data, capacity));
    if (grown == nullptr) {
      sink.out_of_memory = true;
      return 0;
    }
    sink.data = grown;
    sink.capacity = capacity;
  }
  memcpy(sink.data + sink.size, bytes, length);
  sink.size += length;
  return length;
}

// Creates the process's curl handles on first use.
void InitCurl() {
  if (multi != nullptr) return;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    elog(ERROR, "spawn: libcurl could not be initialized");
  multi = curl_multi_init();
  easy = curl_easy_init();
  if (multi == nullptr || easy == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
                    errdetail("libcurl could not create its handles.")));
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, OnSocket);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, OnTimer);
}

// Equal C strings, NULL equal only to NULL.
bool SameText(const char *a, const char *b) {
  return a == b || (a != nullptr && b != nullptr && strcmp(a, b) == 0);
}

// True when the easy handle carries exactly this host's options.
bool ConfiguredFor(const HostConfig *host) {
  if (!configured.valid || configured.tls_verify != host->tls_verify ||
      configured.header_count != host->header_count ||
      !SameText(configured.actions_url, host->actions_url) ||
      !SameText(configured.ca_file, host->ca_file))
    return false;
  for (int i = 0; i < host->header_count; ++i)
    if (!SameText(configured.headers[i], host->headers[i])) return false;
  return true;
}

// Frees the copy of the configured host's options and its header list.
void ForgetConfiguredHost() {
  free(configured.actions_url);
  free(configured.ca_file);
  for (int i = 0; i < configured.header_count; ++i) free(configured.headers[i]);
  free(configured.headers);
  curl_slist_free_all(configured.header_list);
  curl_url_cleanup(configured.url);
  configured = ConfiguredHost{};
}

// A malloc'd copy of a string (NULL stays NULL); false when memory ran out.
bool CopyText(const char *text, char **copy) {
  *copy = nullptr;
  if (text == nullptr) return true;
  *copy = strdup(text);
  return *copy != nullptr;
}

// Remembers the host's options; false (nothing remembered) when memory ran out.
bool RememberHost(const HostConfig *host) {
  configured.tls_verify = host->tls_verify;
  bool ok = CopyText(host->actions_url, &configured.actions_url) &&
            CopyText(host->ca_file, &configured.ca_file);
  if (ok && host->header_count > 0) {
    configured.headers = static_cast<char **>(calloc(host->header_count, sizeof(char *)));
    ok = configured.headers != nullptr;
    for (int i = 0; ok && i < host->header_count; ++i) {
      ok = CopyText(host->headers[i], &configured.headers[i]);
      configured.header_count = i + 1;
    }
  }
  return ok;
}

// The request headers: the protocol's content type, no "Expect: 100-continue" (hosts read the
// body as one chunk), then the host's own. NULL when memory ran out.
curl_slist *RequestHeaders(const HostConfig *host) {
  curl_slist *list = nullptr;
  const char *fixed[] = {"Content-Type: application/octet-stream",
                         "Accept: application/octet-stream", "Expect:"};
  for (const char *line : fixed) {
    curl_slist *next = curl_slist_append(list, line);
    if (next == nullptr) break;
    list = next;
  }
  for (int i = 0; i < host->header_count; ++i) {
    curl_slist *next = curl_slist_append(list, host->headers[i]);
    if (next == nullptr) break;
    list = next;
  }
  return list;
}

// The host's action URL parsed by curl's own URL parser, or NULL when memory ran out. With
// CURLOPT_URL curl parses the URL text again at every transfer (about 14,000 of its 82,000
// instructions per call); a parsed handle is only copied. It is safe because the handle is
// parsed from the same text CURLOPT_URL would get, with the same parser
// (ParseHostConfig in host_config.cpp validated it with it at registration), and is replaced
// whenever the host's options differ (ConfiguredFor compares actions_url).
CURLU *ParsedUrl(const char *url) {
  CURLU *parsed = curl_url();
  if (parsed != nullptr && curl_url_set(parsed, CURLUPART_URL, url, 0) != CURLUE_OK) {
    curl_url_cleanup(parsed);
    return nullptr;
  }
  return parsed;
}

// Sets every option that depends on the host alone, once per host rather than once per call:
// the handle keeps its options between transfers, and ConfiguredFor compares the host's options
// with the remembered copy on every call, so a different or changed host reconfigures it.
void ConfigureHost(const HostConfig *host) {
  curl_easy_reset(easy);
  ForgetConfiguredHost();
  if (!RememberHost(host)) {
    ForgetConfiguredHost();
    ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
  }
  configured.header_list = RequestHeaders(host);
  configured.url = ParsedUrl(host->actions_url);
  // A URL curl could not parse here (none reaches this: registration checked it) still goes
  // as text, so the transfer fails with curl's own error instead of an unrelated one.
  if (configured.url != nullptr)
    curl_easy_setopt(easy, CURLOPT_CURLU, configured.url);
  else
    curl_easy_setopt(easy, CURLOPT_URL, host->actions_url);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "spawn-postgresql/1.0");
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, configured.header_list);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, host->tls_verify ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, host->tls_verify ? 2L : 0L);
  if (host->ca_file != nullptr) curl_easy_setopt(easy, CURLOPT_CAINFO, host->ca_file);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnData);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, OnCloseSocket);
  configured.valid = true;
}

// Sets what changes from call to call: the body, and the timeouts (settings reload on SIGHUP).
void ConfigureCall(const HostConfig *host, const char *body, size_t size) {
  if (!ConfiguredFor(host)) ConfigureHost(host);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(HostConnectTimeoutMs(host)));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(HostRequestTimeoutMs(host)));
  error_buffer[0] = '\0';
}

// The wait events curl asks for on one socket (0: none).
int EventsOf(const Watched &socket) {
  int events = 0;
  if (socket.what & CURL_POLL_IN) events |= WL_SOCKET_READABLE;
  if (socket.what & CURL_POLL_OUT) events |= WL_SOCKET_WRITEABLE;
  return events;
}

// True when a socket is a connection curl opened through OnOpenSocket and has not closed.
bool KnownSocket(curl_socket_t fd) {
  for (int i = 0; i < open_socket_count; ++i)
    if (open_sockets[i] == fd) return true;
  return false;
}

// Drops the kept wait set.
void DropWaitSet() {
  if (kept.set != nullptr) FreeWaitEventSet(kept.set);
  kept.set = nullptr;
  kept.count = 0;
}

// Builds a wait set with the latch, postmaster death and every socket curl watches. It lives in
// TopMemoryContext so the next call can reuse it.
void BuildWaitSet() {
  DropWaitSet();
  kept.set = CreateWaitEventSet(TopMemoryContext, watched_count + 2);
  AddWaitEventToSet(kept.set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, nullptr);
  kept.latch = MyLatch;
  // Like WaitLatch: a single-user backend has no postmaster to watch.
  if (IsUnderPostmaster)
    AddWaitEventToSet(kept.set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
  kept.reusable = true;
  for (int i = 0; i < watched_count; ++i) {
    const int events = EventsOf(watched[i]);
    if (events == 0) continue;
    kept.positions[kept.count] =
        AddWaitEventToSet(kept.set, events, watched[i].fd, nullptr, nullptr);
    kept.fds[kept.count] = watched[i].fd;
    kept.events[kept.count++] = events;
    kept.reusable &= KnownSocket(watched[i].fd);
  }
  kept.generation = socket_generation;
}

// Makes the kept wait set match what curl watches. A set holding the same sockets is reused
// (only their read/write events are changed), which saves an epoll instance and its
// registrations per call on a kept-alive connection. It is safe because the set is reused only
// when each of its sockets is a connection curl opened and closes through our callbacks and
// none was opened or closed since it was built: a socket number cannot have been closed and
// reused behind the set's back. Anything else (a new connection, the resolver's socket pair,
// a process whose MyLatch changed) builds a new set.
void PrepareWaitSet() {
  bool same = kept.set != nullptr && kept.reusable && kept.generation == socket_generation &&
              kept.latch == MyLatch;
  int position = 0;
  for (int i = 0; same && i < watched_count; ++i) {
    if (EventsOf(watched[i]) == 0) continue;
    same = position < kept.count && kept.fds[position] == watched[i].fd;
    ++position;
  }
  if (!same || position != kept.count) {
    BuildWaitSet();
    return;
  }
  position = 0;
  for (int i = 0; i < watched_count; ++i) {
    const int events = EventsOf(watched[i]);
    if (events == 0) continue;
    if (kept.events[position] != events) {
      ModifyWaitEvent(kept.set, kept.positions[position], events, nullptr);
      kept.events[position] = events;
    }
    ++position;
  }
}

// Drives the transfer until curl reports it done; returns its result.
CURLcode RunTransfer() {
  int running = 0;
  curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
  for (;;) {
    int left = 0;
    CURLMsg *message;
    while ((message = curl_multi_info_read(multi, &left)) != nullptr)
      if (message->msg == CURLMSG_DONE) return message->data.result;
    PrepareWaitSet();
    WaitEvent events[kMaxSockets + 2];
    const long timeout = timer_ms < 0 ? 1000 : timer_ms;
    const int count =
        WaitEventSetWait(kept.set, timeout, events, lengthof(events), PG_WAIT_EXTENSION);
    if (count == 0) curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    for (int i = 0; i < count; ++i) {
      if (events[i].events & WL_LATCH_SET) {
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
        continue;
      }
      int mask = 0;
      if (events[i].events & WL_SOCKET_READABLE) mask |= CURL_CSELECT_IN;
      if (events[i].events & WL_SOCKET_WRITEABLE) mask |= CURL_CSELECT_OUT;
      curl_multi_socket_action(multi, events[i].fd, mask, &running);
    }
  }
}

// Detaches the transfer (the kept wait set stays for the next call).
void EndTransfer() {
  curl_multi_remove_handle(multi, easy);
  watched_count = 0;
  timer_ms = -1;
}

// Maps curl's result to an outcome.
HttpOutcome Classify(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return HttpOutcome::kAnswered;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
      return HttpOutcome::kRefused;
    case CURLE_OPERATION_TIMEDOUT:
      return HttpOutcome::kTimedOut;
    default:
      return sink.too_large ? HttpOutcome::kTooLarge : HttpOutcome::kBroken;
  }
}

}  // namespace

// One POST, from connecting (or reusing a kept connection) to the last byte of the response.
HttpOutcome HttpPostAction(const HostConfig *host, const char *body, size_t size,
                           HttpResponse *response, char *error, size_t error_size) {
  InitCurl();
  CHECK_FOR_INTERRUPTS();
  static_assert(kHttpErrorBytes >= CURL_ERROR_SIZE, "curl's error buffer fits");
  ConfigureCall(host, body, size);
  sink = Sink{};
  if (curl_multi_add_handle(multi, easy) != CURLM_OK)
    elog(ERROR, "spawn: libcurl refused a transfer");
  CURLcode code = CURLE_OK;
  PG_TRY();
  { code = RunTransfer(); }
  PG_CATCH();
  {
    EndTransfer();
    DropWaitSet();  // an error may have left it half built
    free(sink.data);
    sink = Sink{};
    PG_RE_THROW();
  }
  PG_END_TRY();
  EndTransfer();
  const HttpOutcome outcome = Classify(code);
  memset(response, 0, sizeof *response);
  if (outcome == HttpOutcome::kAnswered) {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response->status);
    response->body = static_cast<char *>(palloc(sink.size + 1));
    if (sink.size > 0) memcpy(response->body, sink.data, sink.size);
    response->body[sink.size] = '\0';
    response->size = sink.size;
  } else {
    strlcpy(error, error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code), error_size);
  }
  const bool out_of_memory = sink.out_of_memory;
  free(sink.data);
  sink = Sink{};
  if (out_of_memory)
    ereport(ERROR,
            (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
             errdetail("The response of actor host \"%s\" did not fit in memory.", host->name)));
  return outcome;
}

}  // namespace spawn
