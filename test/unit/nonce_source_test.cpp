// Unit tests of the per-process nonce generator: fresh bytes on every call, and a forked child
// never continues its parent's stream.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>

#include "src/core/nonce_source.hpp"

namespace {

constexpr std::size_t kNonce = 24;

// One nonce as a string, to compare and collect.
std::string Draw() {
  unsigned char nonce[kNonce];
  spawn::nonce_source::Fill(nonce, sizeof nonce);
  return std::string(reinterpret_cast<char *>(nonce), sizeof nonce);
}

TEST(NonceSource, EveryCallGivesFreshBytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) EXPECT_TRUE(seen.insert(Draw()).second);
}

TEST(NonceSource, AForkedChildDoesNotRepeatItsParent) {
  (void)Draw();  // the parent is seeded before it forks
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string nonce = Draw();
    ssize_t written = write(pipe_fds[1], nonce.data(), nonce.size());
    _exit(written == static_cast<ssize_t>(nonce.size()) ? 0 : 1);
  }
  const std::string parent = Draw();
  char buffer[kNonce];
  ASSERT_EQ(read(pipe_fds[0], buffer, sizeof buffer), static_cast<ssize_t>(sizeof buffer));
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(std::string(buffer, sizeof buffer), parent);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

TEST(NonceSource, LongRequestsAreCappedNotOverrun) {
  unsigned char out[40];
  std::memset(out, 0xAB, sizeof out);
  spawn::nonce_source::Fill(out, sizeof out);
  for (std::size_t i = 32; i < sizeof out; ++i) EXPECT_EQ(out[i], 0xAB);
}

}  // namespace
