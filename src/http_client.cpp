// libcurl runs in "multi socket" mode: it tells us (OnSocket, OnTimer) which sockets to watch
// and when it next needs the clock, and the wait happens in WaitEventSetWait next to MyLatch.
// Its callbacks never call PostgreSQL (they only record what curl asked for or copy bytes into
// malloc'd memory), so an error raised in the wait loop unwinds through plain C frames only;
// PG_CATCH then detaches the transfer before re-raising.
//
// Security: redirects are not followed, proxies from the environment are ignored, and only
// http and https are spoken, so a call reaches exactly the address its host was registered with.
#include "src/http_client.hpp"

#include <curl/curl.h>

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

CURLM *multi = nullptr;  // per process; its connection cache keeps host connections alive
CURL *easy = nullptr;    // reused for every call
Watched watched[kMaxSockets];
int watched_count = 0;
bool watched_changed = false;
long timer_ms = -1;  // curl's next deadline; -1: none
Sink sink;

// Records which sockets curl wants watched (curl's CURLMOPT_SOCKETFUNCTION).
int OnSocket(CURL *, curl_socket_t fd, int what, void *, void *) {
  watched_changed = true;
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

// Sets every option of one call on the reused easy handle.
void ConfigureCall(const HostConfig *host, const char *body, size_t size, curl_slist *headers,
                   char *error_buffer) {
  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, host->actions_url);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "spawn-postgresql/1.0");
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(HostConnectTimeoutMs(host)));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(HostRequestTimeoutMs(host)));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, host->tls_verify ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, host->tls_verify ? 2L : 0L);
  if (host->ca_file != nullptr) curl_easy_setopt(easy, CURLOPT_CAINFO, host->ca_file);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnData);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
}

// The request headers: the protocol's content type, no "Expect: 100-continue" (hosts read the
// body as one chunk), then the host's own.
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

// A wait set with the latch, postmaster death and every socket curl watches.
WaitEventSet *BuildWaitSet() {
  WaitEventSet *set = CreateWaitEventSet(CurrentMemoryContext, watched_count + 2);
  AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, nullptr);
  AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
  for (int i = 0; i < watched_count; ++i) {
    int events = 0;
    if (watched[i].what & CURL_POLL_IN) events |= WL_SOCKET_READABLE;
    if (watched[i].what & CURL_POLL_OUT) events |= WL_SOCKET_WRITEABLE;
    if (events != 0) AddWaitEventToSet(set, events, watched[i].fd, nullptr, nullptr);
  }
  return set;
}

// Drives the transfer until curl reports it done; returns its result.
CURLcode RunTransfer(WaitEventSet *volatile *set) {
  int running = 0;
  curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
  for (;;) {
    int left = 0;
    CURLMsg *message;
    while ((message = curl_multi_info_read(multi, &left)) != nullptr)
      if (message->msg == CURLMSG_DONE) return message->data.result;
    if (*set == nullptr || watched_changed) {
      if (*set != nullptr) FreeWaitEventSet(*set);
      *set = nullptr;
      *set = BuildWaitSet();
      watched_changed = false;
    }
    WaitEvent events[kMaxSockets + 2];
    const long timeout = timer_ms < 0 ? 1000 : timer_ms;
    const int count = WaitEventSetWait(*set, timeout, events, lengthof(events), PG_WAIT_EXTENSION);
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

// Detaches the transfer and frees what the call allocated outside memory contexts.
void EndTransfer(WaitEventSet *set, curl_slist *headers) {
  curl_multi_remove_handle(multi, easy);
  if (set != nullptr) FreeWaitEventSet(set);
  curl_slist_free_all(headers);
  watched_count = 0;
  watched_changed = false;
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
  char error_buffer[CURL_ERROR_SIZE] = "";
  curl_slist *headers = RequestHeaders(host);
  ConfigureCall(host, body, size, headers, error_buffer);
  sink = Sink{};
  if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
    curl_slist_free_all(headers);
    elog(ERROR, "spawn: libcurl refused a transfer");
  }
  WaitEventSet *volatile set = nullptr;
  CURLcode code = CURLE_OK;
  PG_TRY();
  { code = RunTransfer(&set); }
  PG_CATCH();
  {
    EndTransfer(set, headers);
    free(sink.data);
    sink = Sink{};
    PG_RE_THROW();
  }
  PG_END_TRY();
  EndTransfer(set, headers);
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
