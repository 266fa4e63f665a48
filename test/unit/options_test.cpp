// Unit tests of the option document checks (actions, timers, channels, tags, system options):
// the messages and SQLSTATEs SQL users see, and hostile documents.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "src/core/errors.hpp"
#include "src/core/names.hpp"
#include "src/core/options.hpp"

namespace {

using spawn::SpawnError;
namespace options = spawn::options;

// What a check raised.
struct Raised {
  std::string sqlstate;
  std::string message;
  std::string detail;
  std::string hint;
};

// Runs a check that must fail and returns its error (an empty SQLSTATE when it passed).
Raised Fails(const std::function<void()> &check) {
  try {
    check();
  } catch (const SpawnError &e) {
    return Raised{e.sqlstate(), e.what(), e.detail(), e.hint()};
  }
  return Raised{};
}

// The error of CheckSchedules with the given documents.
Raised ScheduleError(const std::string &timers, const std::string &channels = "[]",
                     const std::string &actions = R"({"a": "f", "tick": "g"})") {
  return Fails([&] { options::CheckSchedules(actions, timers, channels); });
}

// `n` nested arrays: [[[...]]].
std::string Nested(std::size_t n) {
  return std::string(n, '[') + std::string(n, ']');
}

TEST(Options, AcceptsGoodDocuments) {
  EXPECT_EQ(options::CheckActions(R"({"a": "f", "add": "public.incrementor_add"})"),
            (std::set<std::string>{"a", "add"}));
  EXPECT_TRUE(options::CheckActions("{}").empty());
  EXPECT_NO_THROW(options::CheckSchedules(
      R"({"a": "f", "receive": "g"})",
      R"([{"action": "a", "every_ms": 1000}, {"action": "receive", "every_ms": 10}])",
      R"([{"topic": "news"}, {"topic": "caf\u00e9", "action": "a"}])"));
  EXPECT_NO_THROW(options::CheckSchedules(R"({"a": "f"})",
                                          R"([{"action": "a", "every_ms": 31536000000}])", "[]"));
  EXPECT_NO_THROW(options::CheckTags(R"({"team": {"name": "x", "ids": [1, 2.5e300]}})"));
  EXPECT_NO_THROW(options::CheckSystemOptions(" {} "));
  EXPECT_NO_THROW(options::CheckDocument("system options", "{}"));
}

TEST(Options, ActionsMessages) {
  Raised e = Fails([] { options::CheckActions(R"(["reg_ok"])"); });
  EXPECT_EQ(e.sqlstate, "22023");
  EXPECT_EQ(e.message, "actions must be a jsonb object mapping action names to handler functions");
  EXPECT_EQ(e.hint, R"(Example: {"add": "public.incrementor_add"}.)");
  e = Fails([] { options::CheckActions("null"); });
  EXPECT_EQ(e.sqlstate, "22023");
  e = Fails([] { options::CheckActions(R"({"a": 42})"); });
  EXPECT_EQ(e.sqlstate, "22023");
  EXPECT_EQ(e.message, "handler of action \"a\" must be a function name");
  e = Fails([] { options::CheckActions(R"({"": "reg_ok"})"); });
  EXPECT_EQ(e.sqlstate, "42602");
  EXPECT_EQ(e.message, "invalid action name");
  EXPECT_EQ(e.detail, "The action name is empty.");
  EXPECT_EQ(e.hint, spawn::kNameRuleHint);
  e = Fails([] { options::CheckActions(R"({"a\u0000b": "f"})"); });
  EXPECT_EQ(e.detail, "The action name contains a control character.");
  e = Fails([] { options::CheckActions("{\"" + std::string(64, 'x') + "\": \"f\"}"); });
  EXPECT_EQ(e.detail, "The action name is longer than 63 bytes.");
}

TEST(Options, TimerMessages) {
  Raised e = ScheduleError(R"([{"action": "nope", "every_ms": 10}])");
  EXPECT_EQ(e.sqlstate, "42883");
  EXPECT_EQ(e.message, "timer action \"nope\" is not one of the actor's actions");
  e = ScheduleError(R"([{"action": "a", "every_ms": -1}])");
  EXPECT_EQ(e.sqlstate, "22023");
  EXPECT_EQ(e.message, R"(invalid timer {"action": "a", "every_ms": -1})");
  EXPECT_EQ(e.hint, R"(A timer is {"action": "<action>", "every_ms": <positive integer>}.)");
  e = ScheduleError(R"({"action": "a"})");
  EXPECT_EQ(e.message, "timers must be a jsonb array");
  EXPECT_EQ(e.hint, R"(Example: [{"action": "tick", "every_ms": 1000}].)");
  e = ScheduleError("null");
  EXPECT_EQ(e.message, "timers must be a jsonb array");
}

TEST(Options, RejectsTwoTimersOfOneAction) {
  const Raised e =
      ScheduleError(R"([{"action": "a", "every_ms": 1}, {"action": "a", "every_ms": 2}])");
  EXPECT_EQ(e.sqlstate, "22023");
  EXPECT_EQ(e.message, "timer action \"a\" is listed twice");
}

TEST(Options, RejectsBadPeriods) {
  // 1.0 and 1e3 are whole, but jsonb prints them so (1e3 as 1000 only when cast first) and the
  // timer's (every_ms)::bigint would fail when an instance activates: they are refused here.
  for (const char *every_ms : {"0", "-0", "0.0", "1.5", "1e-1", "-5", "\"10\"", "null", "true",
                               "[10]", "1e-400", "1.0", "1e3", "2.50e1", "1E+3", "1e300"}) {
    const std::string timer = std::string(R"([{"action": "a", "every_ms": )") + every_ms + "}]";
    const Raised e = ScheduleError(timer);
    EXPECT_EQ(e.sqlstate, "22023") << every_ms;
    EXPECT_EQ(e.message.rfind("invalid timer ", 0), 0u) << every_ms;
    EXPECT_EQ(e.detail, "") << every_ms;
  }
  for (const char *every_ms : {"31536000001", "99999999999", "100000000000", "18446744073709551616",
                               "99999999999999999999999999999999999999999"}) {
    const Raised e =
        ScheduleError(std::string(R"([{"action": "a", "every_ms": )") + every_ms + "}]");
    EXPECT_EQ(e.sqlstate, "22023") << every_ms;
    EXPECT_NE(e.detail.find("at most 31536000000"), std::string::npos) << every_ms;
  }
  // Beyond double's range: the parser cannot hold it, so it is refused as out of range.
  EXPECT_EQ(ScheduleError(R"([{"action": "a", "every_ms": 1e400}])").sqlstate, "22003");
  EXPECT_EQ(ScheduleError(R"([{"action": "a", "every_ms": 1}])").sqlstate, "");
  EXPECT_EQ(ScheduleError(R"([{"action": "a", "every_ms": 31536000000}])").sqlstate, "");
}

TEST(Options, RejectsTimersMissingFields) {
  // PL/pgSQL let these through (a NULL comparison is not true); they are malformed.
  EXPECT_EQ(ScheduleError(R"([{"every_ms": 10}])").message, R"(invalid timer {"every_ms": 10})");
  EXPECT_EQ(ScheduleError(R"([{"action": "a"}])").message, R"(invalid timer {"action": "a"})");
  EXPECT_EQ(ScheduleError(R"([["a", 10]])").message, R"(invalid timer ["a", 10])");
}

TEST(Options, QuotesItemsAsJsonbPrintsThem) {
  const Raised e = ScheduleError(
      R"([{"action":"a","every_ms":1.50,"x":{"s":"q\"\\\n\u0001é","n":[null,true]}}])");
  EXPECT_EQ(e.message,
            "invalid timer {\"action\": \"a\", \"every_ms\": 1.50, \"x\": {\"s\": "
            "\"q\\\"\\\\\\n\\u0001é\", \"n\": [null, true]}}");
  const Raised long_item = ScheduleError("[{\"action\": \"" + std::string(1000, 'x') + "\"}]");
  EXPECT_LT(long_item.message.size(), 300u);
  EXPECT_EQ(long_item.message.substr(long_item.message.size() - 3), "...");
}

TEST(Options, ShortensLongTextsWithoutSplittingCharacters) {
  std::string accents;
  for (int i = 0; i < 300; ++i) accents += "\xc3\xa9";
  const Raised e = ScheduleError("[{\"action\": \"a" + accents + "\"}]");
  ASSERT_EQ(e.message.substr(e.message.size() - 3), "...");
  EXPECT_EQ(e.message.substr(e.message.size() - 5, 2), "\xc3\xa9");
  const Raised unknown = ScheduleError("[{\"action\": \"" + accents + "\", \"every_ms\": 1}]");
  EXPECT_EQ(unknown.sqlstate, "42883");
  EXPECT_LT(unknown.message.size(), 320u);
  const Raised overflow = ScheduleError("[{\"action\": \"a\", \"every_ms\": 1e400}]");
  EXPECT_EQ(overflow.message, "number out of range in timers");
  EXPECT_LT(overflow.detail.size(), 100u);
}

TEST(Options, ChannelMessages) {
  Raised e = ScheduleError("[]", R"([{"topic": "news"}])");
  EXPECT_EQ(e.sqlstate, "42883");
  EXPECT_EQ(e.message, "channel action \"receive\" is not one of the actor's actions");
  e = ScheduleError("[]", R"({"topic": "news"})");
  EXPECT_EQ(e.sqlstate, "22023");
  EXPECT_EQ(e.message, "channels must be a jsonb array");
  EXPECT_EQ(e.hint, R"(Example: [{"topic": "news", "action": "receive"}].)");
  e = ScheduleError("[]", R"([{"topic": "news", "action": 1}])");
  EXPECT_EQ(e.message, R"(invalid channel subscription {"topic": "news", "action": 1})");
  EXPECT_EQ(ScheduleError("[]", R"([{"action": "a"}])").sqlstate, "22023");
  EXPECT_EQ(ScheduleError("[]", R"([{"topic": "n", "action": null}])").sqlstate, "22023");
  EXPECT_EQ(ScheduleError("[]", R"(["news"])").sqlstate, "22023");
  e = ScheduleError("[]", R"([{"topic": "", "action": "a"}])");
  EXPECT_EQ(e.sqlstate, "42602");
  EXPECT_EQ(e.message, "invalid channel name");
  EXPECT_EQ(e.detail, "The channel name is empty.");
  EXPECT_EQ(ScheduleError("[]", R"([{"topic": "n", "action": "nope"}])").sqlstate, "42883");
}

TEST(Options, TimersAreCheckedBeforeChannelsAndActionsFirst) {
  EXPECT_EQ(ScheduleError(R"([{"action": "nope", "every_ms": 1}])", "{}").sqlstate, "42883");
  EXPECT_EQ(ScheduleError("{}", "[]", "[]").message,
            "actions must be a jsonb object mapping action names to handler functions");
}

TEST(Options, TagsAndSystemOptions) {
  Raised e = Fails([] { options::CheckTags(R"("x")"); });
  EXPECT_EQ(e.sqlstate, "22023");
  EXPECT_EQ(e.message, "tags must be a jsonb object");
  EXPECT_EQ(e.hint, "");
  e = Fails([] { options::CheckSystemOptions("[]"); });
  EXPECT_EQ(e.sqlstate, "22023");
  EXPECT_EQ(e.message, "system options must be a jsonb object");
  EXPECT_EQ(e.hint, "Pass options => '{}'.");
  e = Fails([] { options::CheckDocument("timers", "[]"); });
  EXPECT_EQ(e.sqlstate, "22023");
  EXPECT_EQ(e.message, "unknown option document kind \"timers\"");
  e = Fails([] { options::CheckDocument(std::string(100000, 'k'), "{}"); });
  EXPECT_LT(e.message.size(), 320u);
}

TEST(Options, RejectsMalformedText) {
  for (const char *text : {"", "{", "{\"a\": }", "{} {}", "[1,]", "{'a': 1}", "nul", "\"\xff\"",
                           "[1] x", "{\"a\" 1}"}) {
    const Raised e = Fails([&] { options::CheckTags(text); });
    EXPECT_EQ(e.sqlstate, "22P02") << text;
    EXPECT_EQ(e.message, "invalid input syntax for type json in tags") << text;
  }
}

TEST(Options, BoundsNestingDepth) {
  EXPECT_NO_THROW(options::CheckTags("{\"a\": " + Nested(options::kMaxDepth - 1) + "}"));
  for (std::size_t depth : {options::kMaxDepth + 1, std::size_t{5000}, std::size_t{100000}}) {
    const std::string deep = "{\"a\": " + Nested(depth) + "}";
    EXPECT_EQ(Fails([&] { options::CheckTags(deep); }).sqlstate, "54001") << depth;
    EXPECT_EQ(Fails([&] { options::CheckActions(deep); }).sqlstate, "54001") << depth;
    EXPECT_EQ(ScheduleError("[" + deep + "]").sqlstate, "54001") << depth;
  }
  const Raised e = Fails([] { options::CheckSystemOptions(Nested(100000)); });
  EXPECT_EQ(e.message, "system options nest too deeply");
  EXPECT_EQ(e.detail, "Arrays and objects nest more than 1000 levels deep.");
  // Unbalanced openings only: still refused by depth, not by exhausting the stack.
  EXPECT_EQ(Fails([] { options::CheckTags(std::string(200000, '[')); }).sqlstate, "54001");
}

TEST(Options, RepeatedKeysCountAsTheLastOne) {
  EXPECT_EQ(ScheduleError(R"([{"action": 1, "action": "a", "every_ms": 5}])").sqlstate, "");
  EXPECT_EQ(ScheduleError(R"([{"action": "a", "every_ms": 5, "every_ms": 0}])").sqlstate, "22023");
}

}  // namespace
