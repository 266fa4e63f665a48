// Allow-lists of network addresses ("127.0.0.1/32, ::1/128, 10.0.0.0/8") and per-system port
// overrides ("orders=8091, billing=8092"): the HTTP gateway's registration checks. Pure C++
// zone, fed by settings and peer addresses (a libFuzzer target covers the parsers).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace spawn::gateway {

// An IPv4 or IPv6 network; IPv4 is held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
struct Network {
  std::array<uint8_t, 16> address{};
  int prefix = 128;  // bits of `address` that must match
};

// Parses a comma-separated list of addresses and CIDR ranges (a bare address is one host);
// false with a message on the first bad entry. An empty list allows nothing.
bool ParseAddressList(const std::string &text, std::vector<Network> *out, std::string *error);

// True when the 16-byte address (IPv4 mapped) lies in one of the networks.
bool AddressAllowed(const std::vector<Network> &networks, const std::array<uint8_t, 16> &address);

// Parses "system=port, ..." (ports 1-65535; a system named twice is an error).
bool ParsePortOverrides(const std::string &text, std::map<std::string, int> *out,
                        std::string *error);

// Parses one address ("10.1.2.3" or "::1") into 16 bytes (IPv4 mapped).
bool ParseAddress(const std::string &text, std::array<uint8_t, 16> *out);

}  // namespace spawn::gateway
