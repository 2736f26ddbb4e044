#pragma once
// PostgreSQL connection strings (DSNs), in both of libpq's forms: "host=db port=5432 user=x" and
// "postgresql://user:pass@db:5432/scalr?sslmode=require". A DSN may hold a password, and libpq's
// own error messages can quote parts of the DSN, so nothing DSN-related reaches a log, an error or
// a metric without going through redact_dsn() or a DsnScrubber first.

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scalr_usage {

// Shown in place of a password.
inline constexpr std::string_view kRedacted = "xxxxx";

// The DSN with every password value replaced by xxxxx: `password=...` (quoted or not) in the
// key=value form; the user-info password and a `password=` query parameter in the URI form. A DSN
// too malformed to parse is cut after its first "password", so what is shown never holds one.
std::string redact_dsn(std::string_view dsn);

// Removes the DSN's password from any text, such as a libpq error message: every spelling of it
// that the DSN contains (as written, unquoted and unescaped, percent-decoded) becomes xxxxx.
class DsnScrubber {
 public:
  DsnScrubber() = default;
  explicit DsnScrubber(std::string_view dsn);
  std::string operator()(std::string_view text) const;

 private:
  std::vector<std::string> secrets_;  // longest first, so a longer spelling is replaced whole
};

// The keywords the DSN sets, as libpq parses them (PQconninfoParse), in libpq's keyword order.
// Throws std::invalid_argument with libpq's reason, scrubbed.
using DsnOptions = std::vector<std::pair<std::string, std::string>>;
DsnOptions parse_dsn(std::string_view dsn);

// The key=value connection string the exporter connects with: the DSN's own settings plus, where
// the DSN leaves them unset, defaults suited to a long-running poller: connect_timeout=10 (a dead
// host fails a poll instead of hanging it), TCP keepalives that notice a vanished server within
// about a minute, and fallback_application_name=scalr-usage-exporter for pg_stat_activity.
// overrides replace those defaults, or add more, for a connection with other needs (leader
// election's); the DSN's own settings still win. Throws std::invalid_argument like parse_dsn().
using ConninfoDefault = std::pair<std::string_view, std::string_view>;
std::string effective_conninfo(std::string_view dsn,
                               std::span<const ConninfoDefault> overrides = {});

}  // namespace scalr_usage
