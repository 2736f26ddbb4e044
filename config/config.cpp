#include "config/config.h"

#include <unistd.h>  // environ
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <set>

#include "config/dsn.h"
#include "config/duration.h"
#include "config/yaml_document.h"
#include "reports/render.h"  // kReportFormats
#include "util/read_file.h"

namespace scalr_usage {

namespace {

using std::chrono::milliseconds;

// Big enough for any real file, small enough that a wrong path such as /dev/zero fails at once.
constexpr std::size_t kMaxConfigBytes = 1 << 20;
constexpr std::size_t kMaxTokenBytes = 64 << 10;
// Upper end of *.max_label_length: past this a label is no longer a label but a document.
constexpr long long kMaxLabelLengthLimit = 1 << 20;

constexpr std::string_view kTokenEnv = "SCALR_TOKEN";
constexpr std::string_view kDsnEnv = "SCALR_USAGE_PG_DSN";
constexpr std::string_view kApiSuffix = "/api/iacp/v3";

[[noreturn]] void fail(std::string_view key_path, std::string_view message) {
  throw ConfigError(std::string(key_path) + ": " + std::string(message));
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string to_lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return lower;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// A path as the user typed it, unless it would break the one-line message.
std::string shown_path(std::string_view path) {
  return has_control(path) ? quote_for_message(path) : std::string(path);
}

// Throws ConfigError "<key_path>: cannot read <path>: <reason>" (util/read_file.h).
std::string read_file_prefix(const std::string& path, std::size_t max_bytes,
                             std::string_view key_path) {
  auto result = scalr_usage::read_file_prefix(path, max_bytes);
  if (const auto* error = std::get_if<ReadFileError>(&result)) {
    fail(key_path, "cannot read " + shown_path(path) + ": " + error->reason);
  }
  return std::get<std::string>(std::move(result));
}

class Value;

// One known key of a mapping and what to do with its value. A mapping is described by a list of
// these, so an unknown key is simply one missing from the list.
struct Field {
  std::string_view key;
  std::function<void(const Value&)> apply;
};

// A YAML node with the key path that led to it, so every error can name the key.
class Value {
 public:
  Value(YAML::Node node, std::string path) : node_(std::move(node)), path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  // The line helps find the key in a long file; the message still starts with the key path.
  [[noreturn]] void fail(std::string_view message) const {
    const YAML::Mark mark = node_.Mark();
    std::string text(message);
    if (!mark.is_null()) text += " (line " + std::to_string(mark.line + 1) + ")";
    scalr_usage::fail(path_, text);
  }

  [[noreturn]] void fail_type(std::string_view wanted) const {
    fail("want " + std::string(wanted) + ", got " + std::string(node_kind(node_)));
  }

  // A scalar that may span lines (an SQL query); tabs and line breaks are its only control
  // characters.
  std::string multiline_text(std::string_view wanted) const {
    if (!node_.IsScalar()) fail_type(wanted);
    const std::string& value = node_.Scalar();
    if (std::any_of(value.begin(), value.end(),
                    [](char c) { return is_control(c) && c != '\n' && c != '\r' && c != '\t'; })) {
      fail("want " + std::string(wanted) + " without control characters");
    }
    return value;
  }

  // A scalar on one line; `wanted` describes the expected value for the error message.
  std::string text(std::string_view wanted) const {
    if (!node_.IsScalar()) fail_type(wanted);
    if (has_control(node_.Scalar())) fail("want " + std::string(wanted) + " on a single line");
    return node_.Scalar();
  }

  // Runs a parser that throws std::invalid_argument, reporting its message under this key.
  template <typename Parse>
  auto parsed(std::string_view wanted, Parse parse) const {
    const std::string value = text(wanted);
    try {
      return parse(value);
    } catch (const std::invalid_argument& error) {
      fail(error.what());
    }
  }

  long long integer(long long min, long long max = std::numeric_limits<long long>::max()) const {
    const std::string wanted =
        max == std::numeric_limits<long long>::max()
            ? "an integer of at least " + std::to_string(min)
            : "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    const std::string value = text(wanted);
    long long number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error != std::errc() || end != value.data() + value.size() || number < min ||
        number > max) {
      fail("want " + wanted + ", got " + quote_for_message(value));
    }
    return number;
  }

  milliseconds duration(milliseconds min) const {
    const milliseconds value = parsed("a duration like 30s, 5m or 1h", parse_duration);
    if (value < min) {
      // A minimum of 1ms just means "positive"; say so rather than show an odd-looking bound.
      fail(min == milliseconds{1}
               ? "must be greater than 0s"
               : "must be at least " + format_duration(min) + ", got " + format_duration(value));
    }
    return value;
  }

  // The items of a list, each with its index in the key path ("reports.schedules[0]"); non-empty
  // unless allow_empty.
  std::vector<Value> items(std::string_view wanted, bool allow_empty = false) const {
    if (!node_.IsSequence()) fail_type(wanted);
    if (node_.size() == 0 && !allow_empty) {
      fail("want " + std::string(wanted) + ", got an empty list");
    }
    std::vector<Value> items;
    for (std::size_t index = 0; index < node_.size(); ++index) {
      items.emplace_back(node_[index], path_ + "[" + std::to_string(index) + "]");
    }
    return items;
  }

  // A list of distinct, non-empty strings without whitespace; non-empty unless allow_empty.
  // accept, when given, checks each word (throwing std::invalid_argument, reported at the item).
  std::vector<std::string> unique_words(
      std::string_view wanted, bool allow_empty = false,
      const std::function<void(const std::string&)>& accept = {}) const {
    std::vector<std::string> words;
    for (const Value& item : items(wanted, allow_empty)) {
      std::string word = item.text("a string");
      if (word.empty()) item.fail("must not be empty");
      if (std::any_of(word.begin(), word.end(), is_space)) item.fail("must not contain whitespace");
      if (accept)
        item.parsed("a string", [&](const std::string& w) {
          accept(w);
          return 0;
        });
      if (std::find(words.begin(), words.end(), word) != words.end()) {
        item.fail("duplicate " + quote_for_message(word));
      }
      words.push_back(std::move(word));
    }
    return words;
  }

  // Applies each present key's Field. A missing or empty mapping (`web:` with everything under it
  // commented out) is fine: the defaults stay.
  void walk(std::initializer_list<Field> fields) const {
    if (node_.IsNull()) return;
    if (!node_.IsMap()) fail_type("a mapping of keys");
    std::set<std::string> seen;
    for (const auto& entry : node_) {
      const std::string key = Value(entry.first, path_).text("a plain key");
      const Value key_at(entry.first, child_path(key));  // errors about the key point at its line
      const auto field = std::find_if(fields.begin(), fields.end(),
                                      [&](const Field& known) { return known.key == key; });
      if (field == fields.end()) key_at.fail(unknown_key_message(key, fields));
      if (!seen.insert(key).second) key_at.fail("duplicate key");
      field->apply(Value(entry.second, key_at.path()));
    }
  }

 private:
  std::string child_path(std::string_view key) const {
    const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
      return is_alnum(c) || c == '_' || c == '-';
    });
    const std::string segment = plain ? std::string(key) : quote_for_message(key);
    return path_.empty() ? segment : path_ + "." + segment;
  }

  static std::string unknown_key_message(std::string_view key,
                                         std::initializer_list<Field> fields) {
    std::vector<std::string_view> known;
    for (const Field& field : fields) known.push_back(field.key);
    return scalr_usage::unknown_key_message(key, known);
  }

  YAML::Node node_;
  std::string path_;
};

// Splits HOST:PORT or [HOST]:PORT; the port part may be absent only when !port_required.
struct HostPort {
  std::string_view host;
  std::optional<int> port;
};

HostPort split_host_port(std::string_view address, bool port_required) {
  HostPort result;
  std::string_view port_text;
  bool has_port = false;
  if (!address.empty() && address.front() == '[') {
    const std::size_t close = address.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("unclosed [ in IPv6 address");
    result.host = address.substr(1, close - 1);
    const std::string_view rest = address.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') throw std::invalid_argument("want :PORT after ]");
    has_port = !rest.empty();
    if (has_port) port_text = rest.substr(1);
    const bool ipv6_chars = std::all_of(result.host.begin(), result.host.end(), [](char c) {
      return is_alnum(c) || c == ':' || c == '.' || c == '%';
    });
    if (result.host.find(':') == std::string_view::npos || !ipv6_chars) {
      throw std::invalid_argument("invalid IPv6 address in []");
    }
  } else {
    const std::size_t colon = address.rfind(':');
    if (colon != std::string_view::npos && address.find(':') != colon) {
      throw std::invalid_argument("IPv6 addresses need brackets, like [::1]:9871");
    }
    has_port = colon != std::string_view::npos;
    result.host = address.substr(0, has_port ? colon : address.size());
    if (has_port) port_text = address.substr(colon + 1);
    const bool host_chars = std::all_of(result.host.begin(), result.host.end(), [](char c) {
      return is_alnum(c) || c == '.' || c == '-' || c == '_';
    });
    if (!host_chars) throw std::invalid_argument("invalid host " + quote_for_message(result.host));
  }
  if (!has_port) {
    if (port_required) throw std::invalid_argument("missing :PORT");
    return result;
  }
  int port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port < 1 || port > 65535) {
    throw std::invalid_argument("port must be a number from 1 to 65535, got " +
                                quote_for_message(port_text));
  }
  result.port = port;
  return result;
}

std::string listen_address(const std::string& address) {
  validate_listen_address(address);
  return address;
}

std::string telemetry_path(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument("must start with \"/\", got " + quote_for_message(path));
  }
  if (path == "/") throw std::invalid_argument("\"/\" is the landing page; use e.g. /metrics");
  if (path.rfind("/-/", 0) == 0) {
    throw std::invalid_argument(quote_for_message(path) +
                                " is reserved: paths under /-/ are the exporter's own endpoints");
  }
  if (path.find_first_of("?# \t") != std::string::npos) {
    throw std::invalid_argument("must be a plain path without query, fragment or spaces");
  }
  return path;
}

std::string source(const std::string& name) {
  if (name == "scalr_api" || name == "postgres") return name;
  throw std::invalid_argument("unknown source " + quote_for_message(name) +
                              " (want scalr_api or postgres)");
}

// The query without its statement terminator. It is wrapped as a subquery
// (collectors/postgres/queries.h), where a ';' would be a syntax error, and people paste queries
// from psql with one, often followed by a comment. This knows just enough SQL lexing (string
// literals, quoted identifiers, dollar quotes, comments) to tell a terminating ';' from one inside
// a string; more SQL after it means several statements, which cannot run as one query.
std::string sql_query(const std::string& text) {
  const std::string_view sql = text;
  const std::size_t n = sql.size();
  const auto identifier_char = [](char c) {
    return is_alnum(c) || c == '_' || c == '$' || static_cast<unsigned char>(c) >= 0x80;
  };
  std::optional<std::size_t> terminator;  // the first ';' outside literals and comments
  std::size_t i = 0;
  while (i < n) {
    const char c = sql[i];
    if (sql.substr(i, 2) == "--") {
      i = std::min(sql.find('\n', i), n);
      continue;
    }
    if (sql.substr(i, 2) == "/*") {  // block comments nest in PostgreSQL
      int depth = 1;
      for (i += 2; i < n && depth > 0;) {
        if (sql.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (sql.substr(i, 2) == "*/") {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      }
      continue;
    }
    if (terminator && !is_space(c) && c != ';') {
      throw std::invalid_argument("want a single statement, got more SQL after its \";\"");
    }
    if (c == '\'') {
      // E'...' strings take backslash escapes; in the others, '' is the only escape.
      const bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                           (i < 2 || !identifier_char(sql[i - 2]));
      for (++i; i < n; ++i) {
        if (escapes && sql[i] == '\\') {
          ++i;
        } else if (sql[i] == '\'') {
          if (i + 1 < n && sql[i + 1] == '\'') {
            ++i;
          } else {
            break;
          }
        }
      }
      ++i;
      continue;
    }
    if (c == '"') {
      i = std::min(sql.find('"', i + 1), n) + 1;
      continue;
    }
    if (c == '$' && (i == 0 || !identifier_char(sql[i - 1]))) {
      // $tag$...$tag$ (the tag may be empty); $1 is a parameter, not a quote.
      std::size_t end = i + 1;
      while (end < n && (is_alnum(sql[end]) || sql[end] == '_')) ++end;
      const bool parameter = end > i + 1 && sql[i + 1] >= '0' && sql[i + 1] <= '9';
      if (end < n && sql[end] == '$' && !parameter) {
        const std::string_view tag = sql.substr(i, end - i + 1);
        const std::size_t close = sql.find(tag, end + 1);
        i = close == std::string_view::npos ? n : close + tag.size();
        continue;
      }
    }
    if (c == ';' && !terminator) terminator = i;
    ++i;
  }
  const std::string_view query = trim(sql.substr(0, terminator.value_or(n)));
  if (query.empty()) {
    throw std::invalid_argument("must not be empty (leave the key out for the default query)");
  }
  return std::string(query);
}

// billing.overage_price: a plain decimal number; money is integer millionths from here on
// (price_micros), so anything price_micros refuses is refused here, where the key can be named.
double overage_price(const std::string& text) {
  double price = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), price);
  bool valid = error == std::errc() && end == text.data() + text.size();
  if (valid) {
    try {
      price_micros(price);
    } catch (const std::invalid_argument&) {
      valid = false;
    }
  }
  if (!valid) {
    throw std::invalid_argument("want a price from 0 to 1000000 like 0.99, got " +
                                quote_for_message(text));
  }
  return price;
}

// ISO 4217 style: the renderers print it next to every amount and in the FOCUS BillingCurrency.
std::string currency_code(const std::string& text) {
  if (text.size() != 3 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    throw std::invalid_argument("want 3 uppercase letters like USD or EUR, got " +
                                quote_for_message(text));
  }
  return text;
}

// A schedule's name becomes a directory name and a state file key, so it is kept to characters
// that are safe in both and cannot be "." or "..".
std::string schedule_name(const std::string& text) {
  const bool valid = !text.empty() && text.size() <= 64 &&
                     std::all_of(text.begin(), text.end(),
                                 [](char c) { return is_alnum(c) || c == '_' || c == '-'; });
  if (!valid) {
    throw std::invalid_argument("want a name of 1 to 64 letters, digits, _ or -, got " +
                                quote_for_message(text));
  }
  return text;
}

void report_format(const std::string& format) {
  if (std::find(kReportFormats.begin(), kReportFormats.end(), format) == kReportFormats.end()) {
    throw std::invalid_argument("unknown format " + quote_for_message(format) + " (want " +
                                report_format_choices() + ")");
  }
}

// The daemon runs with / as its working directory under systemd; a relative path would silently
// depend on where it was started.
std::filesystem::path absolute_directory(const std::string& text) {
  if (text.empty() || text.front() != '/') {
    throw std::invalid_argument("want an absolute directory path, got " + quote_for_message(text));
  }
  return std::filesystem::path(text).lexically_normal();
}

ReportSchedule parse_schedule(const Value& item, const std::vector<ReportSchedule>& earlier) {
  std::optional<std::string> name;
  std::optional<CronExpression> cron;
  std::optional<PeriodKind> period;
  std::vector<std::string> formats(kReportFormats.begin(), kReportFormats.end());
  item.walk({
      {"name",
       [&](const Value& v) {
         name = v.parsed("a schedule name", schedule_name);
         for (const ReportSchedule& other : earlier) {
           if (other.name == *name) v.fail("duplicate schedule name " + quote_for_message(*name));
         }
       }},
      {"cron",
       [&](const Value& v) {
         cron = v.parsed("a cron expression like \"0 6 1 * *\"", &CronExpression::parse);
       }},
      {"period", [&](const Value& v) { period = v.parsed("a report period", &parse_period_kind); }},
      {"formats",
       [&](const Value& v) {
         formats = v.unique_words("a list of formats", false, report_format);
       }},
  });
  if (!name) fail(item.path() + ".name", "required (e.g. monthly)");
  if (!cron) fail(item.path() + ".cron", "required (e.g. \"0 6 1 * *\")");
  if (!period) {
    fail(item.path() + ".period", "required (previous_month, month_to_date or previous_day)");
  }
  return ReportSchedule{std::move(*name), std::move(*cron), *period, std::move(formats)};
}

// The URL is echoed only in parts: a query or user-info part might hold a credential.
std::string scalr_url(const std::string& url) {
  const std::string example = " (want e.g. https://example.scalr.io)";
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    throw std::invalid_argument("want an http or https URL" + example);
  const std::string scheme = to_lower(std::string_view(url).substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    throw std::invalid_argument("unsupported scheme " + quote_for_message(scheme) + example);
  }
  const std::string_view rest = std::string_view(url).substr(scheme_end + 3);
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  if (path.find_first_of("?#") != std::string_view::npos) {
    throw std::invalid_argument("must not have a query or fragment" + example);
  }
  if (authority.find('@') != std::string_view::npos) {
    throw std::invalid_argument("must not contain credentials; the token goes in scalr.token_file");
  }
  if (path.find_first_of(" \t") != std::string_view::npos) {
    throw std::invalid_argument("must not contain spaces");
  }
  const HostPort host_port = split_host_port(authority, /*port_required=*/false);
  if (host_port.host.empty()) throw std::invalid_argument("missing host" + example);

  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.size() >= kApiSuffix.size() &&
      path.substr(path.size() - kApiSuffix.size()) == kApiSuffix) {
    path.remove_suffix(kApiSuffix.size());
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  }
  return scheme + "://" + to_lower(authority) + std::string(path);
}

// Goes into a `Prefer: profile=...` header, so only token characters are allowed.
std::string prefer_profile(const std::string& profile) {
  const bool valid = std::all_of(profile.begin(), profile.end(), [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '-';
  });
  if (!valid) {
    throw std::invalid_argument("want a profile name like preview (letters, digits, . _ -), got " +
                                quote_for_message(profile));
  }
  return profile;
}

std::string readable_file(const std::string& path) {
  if (path.empty()) return path;  // the system default
  if (read_file_prefix(path, 0, "scalr.ca_file").empty()) {
    throw std::invalid_argument(shown_path(path) + " is empty");
  }
  return path;
}

std::string non_empty_path(const std::string& path) {
  if (path.empty()) throw std::invalid_argument("want a file path, got \"\"");
  return path;
}

// Never puts any part of the token in a message: only where it came from and what is wrong.
Secret checked_token(std::string_view raw, std::string_view origin) {
  const std::string_view token = trim(raw);
  if (token.empty()) fail("scalr.token_file", "no token: " + std::string(origin) + " is empty");
  const bool printable = std::all_of(token.begin(), token.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f;
  });
  if (!printable) {
    fail("scalr.token_file",
         "token in " + std::string(origin) + " contains spaces or non-printable characters");
  }
  return Secret(std::string(token));
}

void load_token(ScalrTarget& target, const std::optional<std::string>& token_file,
                const Environment& env) {
  if (token_file) {
    const std::string content = read_file_prefix(*token_file, kMaxTokenBytes, "scalr.token_file");
    const std::string origin = shown_path(*token_file);
    if (content.size() > kMaxTokenBytes) {
      fail("scalr.token_file", origin + " is larger than 64 KiB; is it the token file?");
    }
    target.token = checked_token(content, origin);
    target.token_origin = "token_file " + origin;
    return;
  }
  const auto from_env = env.find(std::string(kTokenEnv));
  if (from_env == env.end())
    fail("scalr.token_file", "no token: set scalr.token_file or SCALR_TOKEN");
  target.token = checked_token(from_env->second, kTokenEnv);
  target.token_origin = "env " + std::string(kTokenEnv);
}

// systemd's LoadCredential=NAME:... puts the secret in $CREDENTIALS_DIRECTORY/NAME; naming the
// credential in the config keeps the path (which embeds the unit name) out of it.
std::string credential_path(std::string_view key, const std::string& name, const Environment& env) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    fail(key, "invalid credential name " + quote_for_message(name));
  }
  const auto dir = env.find("CREDENTIALS_DIRECTORY");
  if (dir == env.end() || dir->second.empty()) {
    fail(key, "names credential " + quote_for_message(name) +
                  " but CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=)");
  }
  return dir->second + "/" + name;
}

// A configured account id becomes the account_id label, so it obeys the section's bound too; the
// message says how long it is rather than echoing kilobytes of it.
void check_label_lengths(std::string_view section, const std::vector<std::string>& accounts,
                         std::size_t max_label_length) {
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    if (accounts[i].size() > max_label_length) {
      fail(std::string(section) + ".accounts[" + std::to_string(i) + "]",
           std::to_string(accounts[i].size()) + " bytes, longer than " + std::string(section) +
               ".max_label_length (" + std::to_string(max_label_length) + ")");
    }
  }
}

// The DSN as configured, before it is read from a file or the environment.
struct DsnSources {
  std::optional<std::string> dsn;
  std::optional<std::string> dsn_file;
};

// Takes the DSN from postgres.dsn, postgres.dsn_file or SCALR_USAGE_PG_DSN, first found wins, and
// checks that libpq can parse it. No message ever shows the DSN's password.
void load_dsn(PostgresConfig& postgres, const DsnSources& sources, const Environment& env) {
  std::string raw;
  std::string key = "postgres.dsn";
  if (sources.dsn) {
    raw = *sources.dsn;
    postgres.dsn_origin = "postgres.dsn";
  } else if (sources.dsn_file) {
    key = "postgres.dsn_file";
    raw = read_file_prefix(*sources.dsn_file, kMaxTokenBytes, key);
    postgres.dsn_origin = "dsn_file " + shown_path(*sources.dsn_file);
    if (raw.size() > kMaxTokenBytes) {
      fail(key, shown_path(*sources.dsn_file) + " is larger than 64 KiB; is it the DSN file?");
    }
  } else if (const auto from_env = env.find(std::string(kDsnEnv)); from_env != env.end()) {
    raw = from_env->second;
    postgres.dsn_origin = "env " + std::string(kDsnEnv);
  } else {
    fail(key, "required: set postgres.dsn, postgres.dsn_file or " + std::string(kDsnEnv));
  }
  // Line breaks separate key=value pairs like spaces do, so a DSN file may use several lines.
  const std::string dsn(trim(raw));
  const std::string where = sources.dsn ? "" : " in " + postgres.dsn_origin;
  if (dsn.empty()) fail(key, "no DSN: " + postgres.dsn_origin + " is empty");
  if (std::any_of(dsn.begin(), dsn.end(), [](char c) { return is_control(c) && !is_space(c); })) {
    fail(key, "DSN" + where + " contains control characters");
  }
  try {
    parse_dsn(dsn);
  } catch (const std::invalid_argument& error) {
    // libpq's reason, already scrubbed of the password, on one line.
    std::string reason = error.what();
    std::replace_if(reason.begin(), reason.end(), is_control, ' ');
    fail(key, "invalid connection string" + where + ": " + reason);
  }
  postgres.dsn = Secret(dsn);
}

YAML::Node load_document(const std::string& yaml_text) {
  YAML::Node document;
  try {
    document = load_single_yaml_document(yaml_text);
  } catch (const YamlDocumentError& error) {
    fail("config.file", error.what());
  }
  if (document.IsNull()) {
    fail("config.file", "is empty (want at least scalr.url and scalr.accounts)");
  }
  if (!document.IsMap()) {
    fail("config.file",
         "want a mapping of keys at the top level, got " + std::string(node_kind(document)));
  }
  return document;
}

}  // namespace

void validate_listen_address(std::string_view address) {
  try {
    split_host_port(address, /*port_required=*/true);
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(std::string(error.what()) +
                                " (want HOST:PORT, [IPv6]:PORT or :PORT, got " +
                                quote_for_message(address) + ")");
  }
}

Environment process_environment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::size_t equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    env.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return env;
}

Config parse_config(const std::string& yaml_text, const Environment& env) {
  const Value root(load_document(yaml_text), "");
  Config config;
  ScalrTarget target;
  bool scalr_given = false;
  std::optional<std::string> token_file;
  std::optional<std::string> token_credential;
  std::optional<std::string> dsn_credential;
  bool max_backoff_given = false;
  const milliseconds any_positive{1};
  PostgresConfig postgres;
  bool postgres_given = false;
  DsnSources dsn_sources;

  root.walk({
      {"web",
       [&](const Value& web) {
         web.walk({
             {"listen_address",
              [&](const Value& v) {
                config.web.listen_address = v.parsed("an address like :9871", listen_address);
              }},
             {"telemetry_path",
              [&](const Value& v) {
                config.web.telemetry_path = v.parsed("a path like /metrics", telemetry_path);
              }},
             {"max_connections",
              [&](const Value& v) {
                config.web.max_connections = static_cast<int>(v.integer(2, 1024));
              }},
         });
       }},
      {"source", [&](const Value& v) { config.source = v.parsed("a source name", source); }},
      {"scalr",
       [&](const Value& scalr) {
         scalr_given = true;
         scalr.walk({
             {"url", [&](const Value& v) { target.url = v.parsed("a URL", scalr_url); }},
             {"token_file",
              [&](const Value& v) { token_file = v.parsed("a file path", non_empty_path); }},
             {"token_credential",
              [&](const Value& v) { token_credential = v.text("a credential name"); }},
             {"accounts",
              [&](const Value& v) { target.accounts = v.unique_words("a list of account IDs"); }},
             {"prefer_profile",
              [&](const Value& v) {
                target.prefer_profile = v.parsed("a profile name", prefer_profile);
              }},
             {"page_size",
              [&](const Value& v) { target.page_size = static_cast<int>(v.integer(1, 1000)); }},
             {"timeout", [&](const Value& v) { target.timeout = v.duration(any_positive); }},
             {"max_response_bytes",
              [&](const Value& v) {
                target.max_response_bytes = static_cast<std::size_t>(v.integer(1));
              }},
             {"max_pages",
              [&](const Value& v) {
                target.max_pages = static_cast<int>(v.integer(1, std::numeric_limits<int>::max()));
              }},
             {"max_label_length",
              [&](const Value& v) {
                target.max_label_length =
                    static_cast<std::size_t>(v.integer(1, kMaxLabelLengthLimit));
              }},
             {"ca_file",
              [&](const Value& v) { target.ca_file = v.parsed("a file path", readable_file); }},
             {"retry",
              [&](const Value& retry) {
                retry.walk({
                    {"max_attempts",
                     [&](const Value& v) {
                       target.retry.max_attempts = static_cast<int>(v.integer(1, 20));
                     }},
                    {"initial_backoff",
                     [&](const Value& v) {
                       target.retry.initial_backoff = v.duration(any_positive);
                     }},
                    {"max_backoff",
                     [&](const Value& v) {
                       target.retry.max_backoff = v.duration(any_positive);
                       max_backoff_given = true;
                     }},
                });
              }},
         });
       }},
      {"postgres",
       [&](const Value& section) {
         postgres_given = true;
         section.walk({
             {"dsn", [&](const Value& v) { dsn_sources.dsn = v.text("a connection string"); }},
             {"dsn_file",
              [&](const Value& v) {
                dsn_sources.dsn_file = v.parsed("a file path", non_empty_path);
              }},
             {"dsn_credential",
              [&](const Value& v) { dsn_credential = v.text("a credential name"); }},
             {"accounts",
              [&](const Value& v) {
                postgres.accounts = v.unique_words("a list of account IDs", /*allow_empty=*/true);
              }},
             {"query",
              [&](const Value& v) {
                const std::string text = v.multiline_text("an SQL query");
                try {
                  postgres.query = sql_query(text);
                } catch (const std::invalid_argument& error) {
                  v.fail(error.what());
                }
              }},
             {"max_label_length",
              [&](const Value& v) {
                postgres.max_label_length =
                    static_cast<std::size_t>(v.integer(1, kMaxLabelLengthLimit));
              }},
             {"statement_timeout",
              [&](const Value& v) {
                postgres.statement_timeout = v.duration(any_positive);
                // PostgreSQL keeps statement_timeout as an int of milliseconds.
                if (postgres.statement_timeout.count() > std::numeric_limits<int>::max()) {
                  v.fail("must be at most " +
                         format_duration(milliseconds{std::numeric_limits<int>::max()}));
                }
              }},
         });
       }},
      {"poll",
       [&](const Value& poll) {
         poll.walk({
             {"interval",
              [&](const Value& v) { config.poll.interval = v.duration(std::chrono::seconds{1}); }},
         });
       }},
      {"billing",
       [&](const Value& billing) {
         billing.walk({
             {"included_runs",
              [&](const Value& v) {
                config.billing.included_runs = static_cast<std::uint64_t>(v.integer(0));
              }},
             {"overage_price",
              [&](const Value& v) {
                config.billing.overage_price = v.parsed("a price like 0.99", overage_price);
              }},
             {"currency",
              [&](const Value& v) {
                config.billing.currency = v.parsed("a currency code", currency_code);
              }},
         });
       }},
      {"reports",
       [&](const Value& reports) {
         reports.walk({
             {"output_dir",
              [&](const Value& v) {
                config.reports.output_dir = v.parsed("a directory path", absolute_directory);
              }},
             {"schedules",
              [&](const Value& v) {
                for (const Value& item : v.items("a list of schedules", /*allow_empty=*/true)) {
                  config.reports.schedules.push_back(
                      parse_schedule(item, config.reports.schedules));
                }
              }},
             {"keep",
              [&](const Value& v) {
                config.reports.keep = static_cast<int>(v.integer(1, 100000));
              }},
         });
       }},
  });

  if (config.source == "postgres") {
    if (!postgres_given) {
      fail("postgres", "required with source: postgres (at least postgres.dsn)");
    }
    if (dsn_credential) {
      if (dsn_sources.dsn || dsn_sources.dsn_file) {
        fail("postgres.dsn_credential", "set only one of postgres.dsn, dsn_file, dsn_credential");
      }
      dsn_sources.dsn_file = credential_path("postgres.dsn_credential", *dsn_credential, env);
    }
    check_label_lengths("postgres", postgres.accounts, postgres.max_label_length);
    load_dsn(postgres, dsn_sources, env);
    config.postgres = std::move(postgres);
    return config;
  }

  if (!scalr_given) fail("scalr", "required (the Scalr URL, token and accounts to poll)");
  if (target.url.empty()) fail("scalr.url", "required (e.g. https://example.scalr.io)");
  if (target.accounts.empty()) fail("scalr.accounts", "required (a list of account IDs)");
  check_label_lengths("scalr", target.accounts, target.max_label_length);
  if (target.retry.max_backoff < target.retry.initial_backoff) {
    // Blame the key the user wrote: with the default max_backoff, the initial one is too large.
    const std::string initial = format_duration(target.retry.initial_backoff);
    const std::string max = format_duration(target.retry.max_backoff);
    if (max_backoff_given) {
      fail("scalr.retry.max_backoff",
           max + " is less than scalr.retry.initial_backoff (" + initial + ")");
    }
    fail("scalr.retry.initial_backoff",
         initial + " is more than scalr.retry.max_backoff (" + max + ", the default)");
  }
  if (token_credential) {
    if (token_file) fail("scalr.token_credential", "set only one of token_file, token_credential");
    token_file = credential_path("scalr.token_credential", *token_credential, env);
  }
  load_token(target, token_file, env);
  config.scalr_targets.push_back(std::move(target));
  return config;
}

Config load_config(const std::string& path, const Environment& env) {
  const std::string text = read_file_prefix(path, kMaxConfigBytes, "config.file");
  if (text.size() > kMaxConfigBytes)
    fail("config.file", shown_path(path) + " is larger than 1 MiB");
  return parse_config(text, env);
}

}  // namespace scalr_usage
