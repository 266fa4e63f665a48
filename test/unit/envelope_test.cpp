// Unit tests of the crypto envelope.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "src/core/envelope.hpp"

namespace {

using spawn::envelope::Binding;
namespace env = spawn::envelope;

// A binding of a state revision of (system, actor).
Binding StateOf(const char *system, const char *actor, std::int64_t revision) {
  return Binding{"state", system, std::strlen(system), actor, std::strlen(actor), revision};
}

class EnvelopeTest : public ::testing::Test {
 protected:
  // Seals `text` under the fixture's key and binding.
  void SetUp() override {
    env::Initialise();
    for (std::size_t i = 0; i < env::kKeyBytes; ++i) key[i] = static_cast<unsigned char>(i * 7);
    cipher.resize(env::SealedLength(text.size()));
    env::Seal(key, StateOf("sys", "a", 1), reinterpret_cast<const unsigned char *>(text.data()),
              text.size(), nonce, cipher.data());
  }

  // Opens the fixture's ciphertext under a binding; returns the plaintext or "<fail>".
  std::string OpenAs(const Binding &binding, const unsigned char *with_key) {
    std::vector<unsigned char> plain(cipher.size() - env::kTagBytes);
    if (!env::Open(with_key, binding, nonce, cipher.data(), cipher.size(), plain.data()))
      return "<fail>";
    return std::string(plain.begin(), plain.end());
  }

  unsigned char key[env::kKeyBytes];
  unsigned char nonce[env::kNonceBytes];
  std::string text = "{\"total\": 42}";
  std::vector<unsigned char> cipher;
};

TEST_F(EnvelopeTest, RoundTrips) {
  EXPECT_EQ(OpenAs(StateOf("sys", "a", 1), key), text);
}

TEST_F(EnvelopeTest, CiphertextHidesPlaintext) {
  std::string sealed(cipher.begin(), cipher.end());
  EXPECT_EQ(sealed.find("total"), std::string::npos);
  EXPECT_EQ(cipher.size(), text.size() + env::kTagBytes);
}

TEST_F(EnvelopeTest, RejectsTampering) {
  cipher[2] ^= 1;
  EXPECT_EQ(OpenAs(StateOf("sys", "a", 1), key), "<fail>");
}

TEST_F(EnvelopeTest, RejectsOtherBindings) {
  EXPECT_EQ(OpenAs(StateOf("sys", "b", 1), key), "<fail>");
  EXPECT_EQ(OpenAs(StateOf("sys2", "a", 1), key), "<fail>");
  EXPECT_EQ(OpenAs(StateOf("sys", "a", 2), key), "<fail>");
  EXPECT_EQ(OpenAs(StateOf("sy", "sa", 1), key), "<fail>");
  Binding mailbox = StateOf("sys", "a", 1);
  mailbox.purpose = "mailbox";
  EXPECT_EQ(OpenAs(mailbox, key), "<fail>");
}

TEST_F(EnvelopeTest, RejectsOtherKey) {
  unsigned char other[env::kKeyBytes];
  std::memcpy(other, key, sizeof other);
  other[0] ^= 0x80;
  EXPECT_EQ(OpenAs(StateOf("sys", "a", 1), other), "<fail>");
  EXPECT_NE(env::KeyId(key), env::KeyId(other));
}

TEST_F(EnvelopeTest, NoncesDiffer) {
  unsigned char second[env::kNonceBytes];
  std::vector<unsigned char> out(cipher.size());
  env::Seal(key, StateOf("sys", "a", 1), reinterpret_cast<const unsigned char *>(text.data()),
            text.size(), second, out.data());
  EXPECT_NE(std::memcmp(nonce, second, sizeof second), 0);
}

TEST(EnvelopeKeys, DecodesOnlyThirtyTwoBytesOfBase64) {
  unsigned char key[env::kKeyBytes];
  const std::string good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  EXPECT_TRUE(env::DecodeKey(good.data(), good.size(), key));
  EXPECT_EQ(key[31], 31);
  const std::string padded = good + "\n";
  EXPECT_TRUE(env::DecodeKey(padded.data(), padded.size(), key));
  const std::string short_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==";
  EXPECT_FALSE(env::DecodeKey(short_key.data(), short_key.size(), key));
  const std::string garbage = "not base64 at all!";
  EXPECT_FALSE(env::DecodeKey(garbage.data(), garbage.size(), key));
  EXPECT_LE(env::KeyId(key), 0x7fffffffu);
}

TEST(EnvelopeDigest, IsStableAndSensitiveToEveryByte) {
  env::Initialise();
  const std::string a = "{\"total\": 1}";
  std::string b = a;
  b[b.size() - 2] = '2';
  unsigned char first[env::kDigestBytes], again[env::kDigestBytes], other[env::kDigestBytes];
  env::Digest(reinterpret_cast<const unsigned char *>(a.data()), a.size(), first);
  env::Digest(reinterpret_cast<const unsigned char *>(a.data()), a.size(), again);
  env::Digest(reinterpret_cast<const unsigned char *>(b.data()), b.size(), other);
  EXPECT_EQ(std::memcmp(first, again, sizeof first), 0);
  EXPECT_NE(std::memcmp(first, other, sizeof first), 0);
}

}  // namespace
