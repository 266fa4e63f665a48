// URLs are taken apart by libcurl's URL parser (the same one that connects), so what is checked
// here is what will be reached. Redirects are never followed (http_client.cpp), so a host's
// address is exactly the one its owner registered.
#include "src/host_config.hpp"

#include <curl/curl.h>

#include "src/guard.hpp"
#include "src/settings.hpp"

namespace spawn {

namespace {

constexpr int kMaxTimeoutMs = 3600 * 1000;

// Raises 22023 for a bad host URL.
[[noreturn]] void BadUrl(const char *url, const char *problem) {
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                  errmsg("invalid actor host url \"%s\"", url), errdetail("%s", problem),
                  errhint("Give the host's base address, e.g. http://127.0.0.1:8090.")));
}

// Raises 22023 for a bad option.
[[noreturn]] void BadOption(const char *problem) {
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid actor host options"),
                  errdetail("%s", problem),
                  errhint("Options: connect_timeout_ms, request_timeout_ms, headers, tls_verify, "
                          "ca_file, protocol (\"v1\" or \"v2\"), users.")));
}

// Reads one part of a parsed URL, or NULL when it is absent.
char *UrlPart(CURLU *parsed, CURLUPart part) {
  char *value = nullptr;
  if (curl_url_get(parsed, part, &value, 0) != CURLUE_OK) return nullptr;
  char *copy = pstrdup(value);
  curl_free(value);
  return copy;
}

// Checks the URL and returns the address actions are posted to.
char *ActionsUrl(const char *url) {
  if (url == nullptr || url[0] == '\0') BadUrl("", "The url is empty.");
  CURLU *parsed = curl_url();
  if (parsed == nullptr) ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
  const CURLUcode code = curl_url_set(parsed, CURLUPART_URL, url, 0);
  char *scheme = code == CURLUE_OK ? UrlPart(parsed, CURLUPART_SCHEME) : nullptr;
  char *host = code == CURLUE_OK ? UrlPart(parsed, CURLUPART_HOST) : nullptr;
  char *user = code == CURLUE_OK ? UrlPart(parsed, CURLUPART_USER) : nullptr;
  char *query = code == CURLUE_OK ? UrlPart(parsed, CURLUPART_QUERY) : nullptr;
  char *fragment = code == CURLUE_OK ? UrlPart(parsed, CURLUPART_FRAGMENT) : nullptr;
  curl_url_cleanup(parsed);
  if (code != CURLUE_OK) BadUrl(url, curl_url_strerror(code));
  if (scheme == nullptr || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
    BadUrl(url, "Only http and https are supported.");
  if (host == nullptr || host[0] == '\0') BadUrl(url, "The url names no host.");
  if (user != nullptr) BadUrl(url, "Credentials belong in the \"headers\" option, not the url.");
  if (query != nullptr || fragment != nullptr)
    BadUrl(url, "The url must not have a query or a fragment.");
  const size_t length = strlen(url);
  const bool slash = length > 0 && url[length - 1] == '/';
  return psprintf("%.*s/api/v1/actors/actions", static_cast<int>(length - (slash ? 1 : 0)), url);
}

// Reads an integer option within 1..kMaxTimeoutMs.
int TimeoutOption(const JsonbValue *value, const char *key) {
  if (value->type != jbvNumeric)
    BadOption(psprintf("\"%s\" must be a number of milliseconds.", key));
  bool bad = false;
  int64 ms = 0;
  PG_TRY();
  { ms = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(value->val.numeric))); }
  PG_CATCH();
  {
    FlushErrorState();
    bad = true;
  }
  PG_END_TRY();
  if (bad || ms < 1 || ms > kMaxTimeoutMs)
    BadOption(psprintf("\"%s\" must be between 1 and %d milliseconds.", key, kMaxTimeoutMs));
  return static_cast<int>(ms);
}

// True for a character HTTP allows in a header name (RFC 9110 token).
bool TokenChar(char c) {
  return isalnum(static_cast<unsigned char>(c)) || strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// Headers spawn sets itself, or that would change how the body is framed.
bool ReservedHeader(const char *name) {
  static const char *const kReserved[] = {
      "content-type", "content-length", "host",  "transfer-encoding",
      "expect",       "connection",     "accept"};
  for (const char *reserved : kReserved)
    if (pg_strcasecmp(name, reserved) == 0) return true;
  return false;
}

// Reads the "headers" object into "Name: value" lines.
void HeadersOption(JsonbContainer *object, HostConfig *out) {
  JsonbIterator *it = JsonbIteratorInit(object);
  JsonbValue v;
  JsonbIteratorToken token;
  char *name = nullptr;
  while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
    if (token == WJB_KEY) {
      name = pnstrdup(v.val.string.val, v.val.string.len);
      if (name[0] == '\0') BadOption("A header name is empty.");
      for (const char *c = name; *c; ++c)
        if (!TokenChar(*c)) BadOption(psprintf("Header name \"%s\" is not a valid token.", name));
      if (ReservedHeader(name))
        BadOption(psprintf("Header \"%s\" is set by spawn and cannot be given.", name));
    } else if (token == WJB_VALUE) {
      if (v.type != jbvString) BadOption(psprintf("Header \"%s\" must be a string.", name));
      char *value = pnstrdup(v.val.string.val, v.val.string.len);
      for (const char *c = value; *c; ++c)
        if (*c == '\r' || *c == '\n')
          BadOption(psprintf("Header \"%s\" must not contain line breaks.", name));
      out->headers = static_cast<char **>(
          out->header_count == 0
              ? palloc(sizeof(char *))
              : repalloc(out->headers, sizeof(char *) * (out->header_count + 1)));
      out->headers[out->header_count++] = psprintf("%s: %s", name, value);
    }
  }
}

// Checks that "users" is an array of role names (resolved by spawn.register_host).
void UsersOption(const JsonbValue *value) {
  if (value->type != jbvBinary || !JsonContainerIsArray(value->val.binary.data))
    BadOption("\"users\" must be an array of role names (or \"public\").");
  JsonbIterator *it = JsonbIteratorInit(value->val.binary.data);
  JsonbValue v;
  JsonbIteratorToken token;
  while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
    if (token == WJB_ELEM && v.type != jbvString)
      BadOption("\"users\" must be an array of role names (or \"public\").");
}

// Applies one option.
void ApplyOption(const char *key, const JsonbValue *value, HostConfig *out) {
  if (strcmp(key, "connect_timeout_ms") == 0) {
    out->connect_timeout_ms = TimeoutOption(value, key);
  } else if (strcmp(key, "request_timeout_ms") == 0) {
    out->request_timeout_ms = TimeoutOption(value, key);
  } else if (strcmp(key, "tls_verify") == 0) {
    if (value->type != jbvBool) BadOption("\"tls_verify\" must be true or false.");
    out->tls_verify = value->val.boolean;
  } else if (strcmp(key, "ca_file") == 0) {
    if (value->type != jbvString) BadOption("\"ca_file\" must be a file path.");
    out->ca_file = pnstrdup(value->val.string.val, value->val.string.len);
    if (!is_absolute_path(out->ca_file)) BadOption("\"ca_file\" must be an absolute path.");
  } else if (strcmp(key, "protocol") == 0) {
    const bool v1 = value->type == jbvString && value->val.string.len == 2 &&
                    memcmp(value->val.string.val, "v1", 2) == 0;
    const bool v2 = value->type == jbvString && value->val.string.len == 2 &&
                    memcmp(value->val.string.val, "v2", 2) == 0;
    if (!v1 && !v2) BadOption("\"protocol\" must be \"v1\" or \"v2\".");
    out->v2_spelling = v2;
  } else if (strcmp(key, "headers") == 0) {
    if (value->type != jbvBinary || !JsonContainerIsObject(value->val.binary.data))
      BadOption("\"headers\" must be an object of header names and values.");
    HeadersOption(value->val.binary.data, out);
  } else if (strcmp(key, "users") == 0) {
    UsersOption(value);
  } else {
    BadOption(psprintf("Unknown option \"%s\".", key));
  }
}

}  // namespace

// Reads every key of the options object.
void ParseHostConfig(const char *url, Jsonb *options, MemoryContext context, HostConfig *out) {
  MemoryContext old = MemoryContextSwitchTo(context);
  memset(out, 0, sizeof *out);
  out->tls_verify = true;
  out->actions_url = ActionsUrl(url);
  if (options == nullptr || !JB_ROOT_IS_OBJECT(options) || JB_ROOT_IS_SCALAR(options))
    BadOption("The options must be a jsonb object.");
  JsonbIterator *it = JsonbIteratorInit(&options->root);
  JsonbValue v;
  JsonbIteratorToken token;
  char *key = nullptr;
  while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
    if (token == WJB_KEY) key = pnstrdup(v.val.string.val, v.val.string.len);
    if (token == WJB_VALUE) ApplyOption(key, &v, out);
  }
  MemoryContextSwitchTo(old);
}

// The host's own timeout, else the setting.
int HostConnectTimeoutMs(const HostConfig *host) {
  return host->connect_timeout_ms > 0 ? host->connect_timeout_ms : setting_host_connect_timeout_ms;
}

// The host's own timeout, else the setting.
int HostRequestTimeoutMs(const HostConfig *host) {
  return host->request_timeout_ms > 0 ? host->request_timeout_ms : setting_host_request_timeout_ms;
}

}  // namespace spawn

// spawn._check_host(url text, options jsonb) RETURNS void: raises 22023 for a bad URL or option.
SPAWN_FUNCTION(spawn_check_host) {
  if (PG_ARGISNULL(0))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("url must not be null")));
  if (PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("options must not be null"),
                    errhint("Pass options => '{}'.")));
  spawn::HostConfig config;
  spawn::ParseHostConfig(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_JSONB_P(1),
                         CurrentMemoryContext, &config);
  PG_RETURN_VOID();
}
