// Address allow-lists: inet_pton does the address syntax, so only the list and prefix syntax is
// parsed here. IPv4 entries match IPv4 peers and IPv4-mapped IPv6 peers alike.
#include "src/core/address_list.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace spawn::gateway {

namespace {

// Trims spaces and tabs at both ends.
std::string Trim(const std::string &text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// Splits at commas, trimming each entry; empty entries are dropped.
std::vector<std::string> Entries(const std::string &text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string entry =
        Trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!entry.empty()) out.push_back(entry);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Parses a decimal number of at most 5 digits; -1 when it is not one.
int SmallNumber(const std::string &text) {
  if (text.empty() || text.size() > 5) return -1;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

// One address, IPv4 mapped into IPv6.
bool ParseAddress(const std::string &text, std::array<uint8_t, 16> *out) {
  out->fill(0);
  unsigned char v4[4];
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) {
    (*out)[10] = (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, v4, 4);
    return true;
  }
  return inet_pton(AF_INET6, text.c_str(), out->data()) == 1;
}

// Parses the allow-list.
bool ParseAddressList(const std::string &text, std::vector<Network> *out, std::string *error) {
  out->clear();
  for (const std::string &entry : Entries(text)) {
    const size_t slash = entry.find('/');
    const std::string address = entry.substr(0, slash);
    Network network;
    if (address.find('\0') != std::string::npos || !ParseAddress(address, &network.address)) {
      *error = "\"" + entry + "\" is not an IPv4 or IPv6 address or CIDR range";
      return false;
    }
    const bool v4 = address.find(':') == std::string::npos;
    const int max_prefix = v4 ? 32 : 128;
    int prefix = max_prefix;
    if (slash != std::string::npos) {
      prefix = SmallNumber(entry.substr(slash + 1));
      if (prefix < 0 || prefix > max_prefix) {
        *error = "\"" + entry + "\" has an invalid prefix length (0 to " +
                 std::to_string(max_prefix) + ")";
        return false;
      }
    }
    network.prefix = v4 ? prefix + 96 : prefix;
    out->push_back(network);
  }
  return true;
}

// Prefix match against each network.
bool AddressAllowed(const std::vector<Network> &networks, const std::array<uint8_t, 16> &address) {
  for (const Network &network : networks) {
    int bits = network.prefix;
    bool match = true;
    for (size_t i = 0; i < 16 && bits > 0 && match; ++i, bits -= 8) {
      const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
      match = (network.address[i] & mask) == (address[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

// Parses the per-system port overrides.
bool ParsePortOverrides(const std::string &text, std::map<std::string, int> *out,
                        std::string *error) {
  out->clear();
  for (const std::string &entry : Entries(text)) {
    const size_t eq = entry.rfind('=');
    const std::string system = eq == std::string::npos ? "" : Trim(entry.substr(0, eq));
    const int port = eq == std::string::npos ? -1 : SmallNumber(Trim(entry.substr(eq + 1)));
    if (system.empty() || port < 1 || port > 65535) {
      *error = "\"" + entry + "\" is not system=port with a port from 1 to 65535";
      return false;
    }
    if (!out->emplace(system, port).second) {
      *error = "system \"" + system + "\" is named twice";
      return false;
    }
  }
  return true;
}

}  // namespace spawn::gateway
