// The documents arrive as jsonb's text, so they are valid JSON with unique keys in jsonb's
// order, but the checks assume nothing of the kind: any text is parsed by nlohmann's SAX
// parser (which keeps its own stack on the heap) into a small tree whose depth is bounded by
// kMaxDepth, so neither parsing nor the recursive walks below can overflow the stack. Numbers
// keep their text, so "invalid timer ..." prints an item exactly as jsonb prints it, and
// every_ms is judged by its digits rather than through a double.
#include "src/core/options.hpp"

#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

#include "src/core/errors.hpp"
#include "src/core/names.hpp"

namespace spawn::options {

namespace {

// Longest text quoted in a message (an item, a name, the parser's complaint); longer ones are
// cut at a character boundary and end in "...".
constexpr std::size_t kMaxQuotedBytes = 256;

// A text as a message quotes it: cut to kMaxQuotedBytes without splitting a UTF-8 character.
std::string Shorten(std::string text) {
  if (text.size() <= kMaxQuotedBytes) return text;
  std::size_t cut = kMaxQuotedBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  text.resize(cut);
  return text + "...";
}

// One JSON value. Object members keep document order; a repeated key counts as its last
// occurrence, as in jsonb.
struct Node {
  enum class Type { kNull, kBoolean, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  std::string text;               // a string's value, a number's token, "true" or "false"
  std::vector<std::string> keys;  // member names of an object, parallel to children
  std::vector<Node> children;     // array elements or object member values
};

// Builds the tree of a document from SAX events. In shallow mode only the root's type is
// kept (tags and system options need no more), yet the whole text is still parsed and depth
// limited.
class TreeBuilder {
 public:
  using json = nlohmann::json;

  // `what` names the document in errors ("tags", "timers", ...).
  TreeBuilder(const char *what, bool shallow) : what_(what), shallow_(shallow) {}

  // The parsed document.
  Node &root() { return root_; }

  // A null value.
  bool null() { return Leaf(Node::Type::kNull, {}); }
  // true or false.
  bool boolean(bool value) { return Leaf(Node::Type::kBoolean, value ? "true" : "false"); }
  // An integer that fits int64; its decimal text is the canonical token.
  bool number_integer(json::number_integer_t value) {
    return Leaf(Node::Type::kNumber, std::to_string(value));
  }
  // An integer that fits uint64 only.
  bool number_unsigned(json::number_unsigned_t value) {
    return Leaf(Node::Type::kNumber, std::to_string(value));
  }
  // Any other number: the token as written.
  bool number_float(json::number_float_t, const json::string_t &token) {
    return Leaf(Node::Type::kNumber, token);
  }
  // A string value.
  bool string(json::string_t &value) { return Leaf(Node::Type::kString, std::move(value)); }
  // Binary values exist only in binary formats, never in JSON text.
  bool binary(json::binary_t &) { return false; }
  // Opens an object.
  bool start_object(std::size_t) { return Open(Node::Type::kObject); }
  // The name of the next object member.
  bool key(json::string_t &name) {
    key_ = std::move(name);
    return true;
  }
  // Closes an object.
  bool end_object() { return Close(); }
  // Opens an array.
  bool start_array(std::size_t) { return Open(Node::Type::kArray); }
  // Closes an array.
  bool end_array() { return Close(); }

  // Turns the parser's complaint into 22P02, or 22003 for a number beyond double's range.
  bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &error) {
    std::string reason = error.what();
    const auto bracket = reason.find("] ");
    if (reason.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos)
      reason.erase(0, bracket + 2);
    if (error.id == 406)
      throw SpawnError(sqlstate::kNumericValueOutOfRange,
                       "number out of range in " + std::string(what_),
                       "Numbers in option documents lie within double precision's range "
                       "(about 1.8e308).");
    throw SpawnError(sqlstate::kInvalidTextRepresentation,
                     "invalid input syntax for type json in " + std::string(what_),
                     Shorten(reason) + ".");
  }

 private:
  // Adds a value to the open container (or makes it the root) and returns it, or nullptr
  // when shallow mode does not keep it.
  Node *Add(Node::Type type) {
    if (open_.empty()) {
      if (depth_ > 0) return nullptr;  // below the root in shallow mode
      root_.type = type;
      return &root_;
    }
    Node *parent = open_.back();
    if (parent->type == Node::Type::kObject) parent->keys.push_back(std::move(key_));
    parent->children.emplace_back();
    parent->children.back().type = type;
    return &parent->children.back();
  }

  // Adds a scalar.
  bool Leaf(Node::Type type, std::string text) {
    if (Node *node = Add(type)) node->text = std::move(text);
    return true;
  }

  // Adds a container and descends into it, refusing to go deeper than kMaxDepth.
  bool Open(Node::Type type) {
    if (depth_ >= kMaxDepth)
      throw SpawnError(
          sqlstate::kStatementTooComplex, std::string(what_) + " nest too deeply",
          "Arrays and objects nest more than " + std::to_string(kMaxDepth) + " levels deep.");
    Node *node = Add(type);
    ++depth_;
    // A container stays put while it is open: its parent only grows after it closes.
    if (!shallow_) open_.push_back(node);
    return true;
  }

  // Leaves the innermost container.
  bool Close() {
    if (!open_.empty() && open_.size() == depth_) open_.pop_back();
    --depth_;
    return true;
  }

  const char *what_;
  bool shallow_;
  Node root_;
  std::vector<Node *> open_;  // the containers being filled, outermost first
  std::size_t depth_ = 0;     // containers open, kept or not
  std::string key_;           // the name of the member whose value comes next
};

// Parses a document; `what` names it in errors.
Node Parse(std::string_view text, const char *what, bool shallow = false) {
  TreeBuilder builder(what, shallow);
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &builder))
    throw SpawnError(sqlstate::kInvalidTextRepresentation,
                     "invalid input syntax for type json in " + std::string(what));
  return std::move(builder.root());
}

// The value of an object's member, or nullptr; the last one wins when a key repeats.
const Node *Member(const Node &object, std::string_view key) {
  if (object.type != Node::Type::kObject) return nullptr;
  for (std::size_t i = object.keys.size(); i-- > 0;)
    if (object.keys[i] == key) return &object.children[i];
  return nullptr;
}

// Appends a string as jsonb prints it: quoted, with jsonb's escapes.
void AppendQuoted(const std::string &value, std::string *out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (byte < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[byte >> 4]);
          out->push_back(kHex[byte & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// Appends a value as jsonb's output function prints it ({"a": 1, "b": [true, null]}).
void AppendJson(const Node &node, std::string *out) {
  switch (node.type) {
    case Node::Type::kNull:
      *out += "null";
      return;
    case Node::Type::kBoolean:
    case Node::Type::kNumber:
      *out += node.text;
      return;
    case Node::Type::kString:
      AppendQuoted(node.text, out);
      return;
    case Node::Type::kArray:
    case Node::Type::kObject:
      break;
  }
  const bool object = node.type == Node::Type::kObject;
  out->push_back(object ? '{' : '[');
  for (std::size_t i = 0; i < node.children.size(); ++i) {
    if (i > 0) *out += ", ";
    if (object) {
      AppendQuoted(node.keys[i], out);
      *out += ": ";
    }
    AppendJson(node.children[i], out);
  }
  out->push_back(object ? '}' : ']');
}

// A value as a message quotes it, in jsonb's notation and shortened.
std::string Quote(const Node &node) {
  std::string text;
  AppendJson(node, &text);
  return Shorten(std::move(text));
}

// Raises 42602 when `name` breaks the name rules; `what` is "action" or "channel".
void RequireName(const char *what, const std::string &name) {
  const char *problem = NameProblem(name.data(), name.size());
  if (problem == nullptr) return;
  throw SpawnError(sqlstate::kInvalidName, "invalid " + std::string(what) + " name",
                   "The " + std::string(what) + " name " + problem + ".", kNameRuleHint);
}

// How a number fares as a timer period.
enum class Period { kValid, kNotWhole, kBelowOne, kAboveMax };

// Judges every_ms's token. Only digits pass, as jsonb prints a whole number: "1.0" or "1e3"
// would not cast to bigint when the timer is armed. Any length is judged without overflow.
Period JudgePeriod(const std::string &token) {
  if (token.empty() || token.find_first_not_of("0123456789") != std::string::npos)
    return Period::kNotWhole;
  const auto first = token.find_first_not_of('0');
  if (first == std::string::npos) return Period::kBelowOne;
  const std::string digits = token.substr(first);
  if (digits.size() > 11 || std::stoll(digits) > kMaxEveryMs) return Period::kAboveMax;
  return Period::kValid;
}

// Raises the error of a malformed timer; `detail` may be empty.
[[noreturn]] void InvalidTimer(const Node &item, std::string detail = {}) {
  throw SpawnError(sqlstate::kInvalidParameterValue, "invalid timer " + Quote(item),
                   std::move(detail),
                   "A timer is {\"action\": \"<action>\", \"every_ms\": <positive integer>}.");
}

// Checks one timer against the action names.
void CheckTimer(const Node &item, const std::set<std::string> &actions) {
  const Node *action = Member(item, "action");
  const Node *every_ms = Member(item, "every_ms");
  if (action == nullptr || action->type != Node::Type::kString || every_ms == nullptr ||
      every_ms->type != Node::Type::kNumber)
    InvalidTimer(item);
  switch (JudgePeriod(every_ms->text)) {
    case Period::kValid:
      break;
    case Period::kNotWhole:
    case Period::kBelowOne:
      InvalidTimer(item);
    case Period::kAboveMax:
      InvalidTimer(item, "every_ms is at most " + std::to_string(kMaxEveryMs) +
                             " (one year); use a cron schedule for longer periods.");
  }
  if (actions.count(action->text) == 0)
    throw SpawnError(sqlstate::kUndefinedFunction, "timer action \"" + Shorten(action->text) +
                                                       "\" is not one of the actor's actions");
}

// Checks one channel subscription against the action names.
void CheckChannel(const Node &item, const std::set<std::string> &actions) {
  const Node *topic = Member(item, "topic");
  const Node *action = Member(item, "action");
  if (topic == nullptr || topic->type != Node::Type::kString ||
      (action != nullptr && action->type != Node::Type::kString))
    throw SpawnError(sqlstate::kInvalidParameterValue,
                     "invalid channel subscription " + Quote(item), {},
                     "A subscription is {\"topic\": \"<channel>\", \"action\": \"<action>\"}; "
                     "action defaults to \"receive\".");
  RequireName("channel", topic->text);
  const std::string &name = action != nullptr ? action->text : std::string("receive");
  if (actions.count(name) == 0)
    throw SpawnError(sqlstate::kUndefinedFunction,
                     "channel action \"" + Shorten(name) + "\" is not one of the actor's actions");
}

// Raises 22023 unless the document is a JSON object.
void RequireObject(std::string_view text, const char *what, const char *message, const char *hint) {
  if (Parse(text, what, true).type != Node::Type::kObject)
    throw SpawnError(sqlstate::kInvalidParameterValue, message, {}, hint);
}

}  // namespace

// Name and handler of every action, in document (jsonb) order.
std::set<std::string> CheckActions(std::string_view actions) {
  static const char kExample[] = "Example: {\"add\": \"public.incrementor_add\"}.";
  const Node document = Parse(actions, "actions");
  if (document.type != Node::Type::kObject)
    throw SpawnError(sqlstate::kInvalidParameterValue,
                     "actions must be a jsonb object mapping action names to handler functions", {},
                     kExample);
  std::set<std::string> names;
  for (std::size_t i = 0; i < document.keys.size(); ++i) {
    const std::string &name = document.keys[i];
    RequireName("action", name);
    if (document.children[i].type != Node::Type::kString)
      throw SpawnError(sqlstate::kInvalidParameterValue,
                       "handler of action \"" + name + "\" must be a function name", {}, kExample);
    names.insert(name);
  }
  return names;
}

// The actions first, then every timer, then every channel subscription.
void CheckSchedules(std::string_view actions, std::string_view timers, std::string_view channels) {
  const std::set<std::string> names = CheckActions(actions);
  const Node timer_list = Parse(timers, "timers");
  if (timer_list.type != Node::Type::kArray)
    throw SpawnError(sqlstate::kInvalidParameterValue, "timers must be a jsonb array", {},
                     "Example: [{\"action\": \"tick\", \"every_ms\": 1000}].");
  std::set<std::string> timed;
  for (const Node &item : timer_list.children) {
    CheckTimer(item, names);
    if (!timed.insert(Member(item, "action")->text).second)
      throw SpawnError(
          sqlstate::kInvalidParameterValue,
          "timer action \"" + Shorten(Member(item, "action")->text) + "\" is listed twice", {},
          "An action has at most one timer.");
  }
  const Node channel_list = Parse(channels, "channels");
  if (channel_list.type != Node::Type::kArray)
    throw SpawnError(sqlstate::kInvalidParameterValue, "channels must be a jsonb array", {},
                     "Example: [{\"topic\": \"news\", \"action\": \"receive\"}].");
  for (const Node &item : channel_list.children) CheckChannel(item, names);
}

// Tags are free-form, but an object.
void CheckTags(std::string_view tags) {
  RequireObject(tags, "tags", "tags must be a jsonb object", "");
}

// System options are free-form, but an object.
void CheckSystemOptions(std::string_view options) {
  RequireObject(options, "system options", "system options must be a jsonb object",
                "Pass options => '{}'.");
}

// Dispatches on the kind's name.
void CheckDocument(std::string_view kind, std::string_view document) {
  if (kind == "actions") {
    CheckActions(document);
  } else if (kind == "tags") {
    CheckTags(document);
  } else if (kind == "system options") {
    CheckSystemOptions(document);
  } else {
    throw SpawnError(sqlstate::kInvalidParameterValue,
                     "unknown option document kind \"" + Shorten(std::string(kind)) + "\"", {},
                     "The kind is actions, tags or system options.");
  }
}

}  // namespace spawn::options
