// Path routing of the HTTP gateway: split into segments, matched against the fixed table of
// endpoints; the method is checked only once the path matched, so a known path with another
// method is 405 and an unknown path 404.
#include "src/core/gateway_route.hpp"

#include <vector>

namespace spawn::gateway {

namespace {

// The value of one hex digit, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True when the bytes are well-formed UTF-8 (no overlong forms or surrogates).
bool ValidUtf8(const std::string &text) {
  const auto *s = reinterpret_cast<const unsigned char *>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    size_t extra;
    unsigned int cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= n) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static const unsigned int kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// Splits "/a/b/c" into {"a", "b", "c"}; a trailing slash is ignored, empty inner segments kept.
std::vector<std::string> Segments(const std::string &path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

// A route for endpoint `e` served by `allowed` only.
Route Match(Endpoint e, const char *allowed, const std::string &method) {
  Route route;
  if (method == allowed) {
    route.endpoint = e;
  } else {
    route.endpoint = Endpoint::kMethodNotAllowed;
    route.allow = allowed;
  }
  return route;
}

}  // namespace

// Decodes percent escapes of one path segment.
bool PercentDecode(const std::string &text, std::string *out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return false;
      const int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    out->push_back(c);
  }
  return ValidUtf8(*out);
}

// Routes a request by path, then method.
Route RouteRequest(const std::string &method, const std::string &path) {
  Route route;
  if (path.empty() || path[0] != '/') return route;
  const std::vector<std::string> s = Segments(path);
  if (s.size() == 1 && s[0] == "health") return Match(Endpoint::kHealth, "GET", method);
  if (s.size() == 2 && s[0] == "health" && s[1] == "liveness")
    return Match(Endpoint::kLiveness, "GET", method);
  if (s.size() == 2 && s[0] == "health" && s[1] == "readiness")
    return Match(Endpoint::kReadiness, "GET", method);
  if (s.size() == 1 && s[0] == "metrics") return Match(Endpoint::kMetrics, "GET", method);
  if (s.size() < 3 || s[0] != "api" || s[1] != "v1" || s[2] != "system") return route;
  if (s.size() == 3) return Match(Endpoint::kRegister, "POST", method);
  const bool spawn = s.size() == 6 && s[4] == "actors" && s[5] == "spawn";
  const bool invoke = s.size() == 7 && s[4] == "actors" && s[6] == "invoke";
  if (!spawn && !invoke) return route;
  route = Match(spawn ? Endpoint::kSpawn : Endpoint::kInvoke, "POST", method);
  if (!PercentDecode(s[3], &route.system) || (invoke && !PercentDecode(s[5], &route.actor))) {
    route = Route{};
    route.endpoint = Endpoint::kBadPath;
  }
  return route;
}

// Labels of the endpoints.
const char *EndpointName(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kRegister:
      return "register";
    case Endpoint::kSpawn:
      return "spawn";
    case Endpoint::kInvoke:
      return "invoke";
    case Endpoint::kHealth:
    case Endpoint::kLiveness:
    case Endpoint::kReadiness:
      return "health";
    case Endpoint::kMetrics:
      return "metrics";
    case Endpoint::kMethodNotAllowed:
    case Endpoint::kNotFound:
    case Endpoint::kBadPath:
      break;
  }
  return "other";
}

}  // namespace spawn::gateway
