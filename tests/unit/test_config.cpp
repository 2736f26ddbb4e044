#include "config/address.h"  // validate_listen_address
#include "daemon/config_file.h"
#include "delivery/email/email_config.h"
#include "delivery/email/smtp_config.h"

#include <variant>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>  // mkdtemp, setenv, unsetenv
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace scalr_usage {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Recognisable, so a leak into any message is easy to assert against.
constexpr const char* kToken = "tok-SECRET-123";

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sue-config-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path write(const std::string& name, const std::string& content) const {
    const std::filesystem::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

Environment token_env() { return {{"SCALR_TOKEN", kToken}}; }

// The smallest valid file; `scalr_extra` lines are appended inside the scalr: block.
std::string minimal_yaml(const std::string& scalr_extra = "") {
  return "scalr:\n"
         "  url: https://example.scalr.io\n"
         "  accounts: [acc-1]\n" +
         scalr_extra;
}

// The error message of a config that must be rejected; checks the rules every message obeys.
std::string config_error(const std::string& yaml, const Environment& env = token_env()) {
  try {
    parse_config(yaml, env);
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    EXPECT_THAT(message, Not(HasSubstr(kToken)));
    return message;
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return "";
}

// Expects a rejection whose message starts with `key: ` and mentions `detail`.
void expect_rejected(const std::string& yaml, const std::string& key, const std::string& detail,
                     const Environment& env = token_env()) {
  const std::string message = config_error(yaml, env);
  EXPECT_THAT(message, StartsWith(key + ": ")) << yaml;
  EXPECT_THAT(message, HasSubstr(detail)) << yaml;
}

// The source a config selected, as `source:` names it.
std::string_view source_of(const Config& config) { return source_name(config.source); }
bool is_api(const Config& config) { return std::holds_alternative<ScalrApiConfig>(config.source); }
bool is_postgres(const Config& config) {
  return std::holds_alternative<PostgresConfig>(config.source);
}

const ScalrTarget& only_target(const Config& config) {
  const auto& targets = std::get<ScalrApiConfig>(config.source).targets;
  EXPECT_EQ(targets.size(), 1u);
  return targets.at(0);
}

// --- defaults and values -------------------------------------------------------------------

TEST(ConfigDefaults, MinimalFileFillsInEveryDefault) {
  const Config config = parse_config(minimal_yaml(), token_env());
  EXPECT_EQ(config.web.listen_address, "0.0.0.0:9871");
  EXPECT_EQ(config.web.telemetry_path, "/metrics");
  EXPECT_EQ(config.web.max_connections, 64);
  EXPECT_EQ(source_of(config), "scalr_api");
  EXPECT_EQ(config.poll.interval, minutes{5});
  const ScalrTarget& target = only_target(config);
  EXPECT_EQ(target.url, "https://example.scalr.io");
  EXPECT_EQ(target.accounts, std::vector<std::string>{"acc-1"});
  EXPECT_EQ(target.token.reveal(), kToken);
  EXPECT_EQ(target.token_origin, "env SCALR_TOKEN");
  EXPECT_EQ(target.prefer_profile, "preview");
  EXPECT_EQ(target.page_size, 100);
  EXPECT_EQ(target.timeout, seconds{30});
  EXPECT_EQ(target.max_response_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(target.max_pages, 1000);
  EXPECT_EQ(target.ca_file, "");
  EXPECT_EQ(target.retry.max_attempts, 4);
  EXPECT_EQ(target.retry.initial_backoff, seconds{1});
  EXPECT_EQ(target.retry.max_backoff, seconds{30});
}

TEST(ConfigDefaults, EmptySectionsKeepDefaults) {
  const Config config = parse_config("web:\npoll:\n" + minimal_yaml("  retry:\n"), token_env());
  EXPECT_EQ(config.web.listen_address, "0.0.0.0:9871");
  EXPECT_EQ(config.poll.interval, minutes{5});
  EXPECT_EQ(only_target(config).retry.max_attempts, 4);
}

TEST(ConfigValues, EveryKeyCanBeSet) {
  const TempDir dir;
  const auto token_file = dir.write("token", std::string(kToken) + "\n");
  const auto ca_file = dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  const std::string yaml =
      "web:\n"
      "  listen_address: \"[::1]:9100\"\n"
      "  telemetry_path: /usage/metrics\n"
      "  max_connections: 200\n"
      "source: scalr_api\n"
      "scalr:\n"
      "  url: https://acme.scalr.io/\n"
      "  token_file: " +
      token_file.string() +
      "\n"
      "  accounts:\n"
      "    - acc-1\n"
      "    - acc-2\n"
      "  prefer_profile: \"\"\n"
      "  page_size: 1000\n"
      "  timeout: 1m30s\n"
      "  max_response_bytes: 1024\n"
      "  max_pages: 7\n"
      "  ca_file: " +
      ca_file.string() +
      "\n"
      "  retry:\n"
      "    max_attempts: 20\n"
      "    initial_backoff: 250ms\n"
      "    max_backoff: 250ms\n"
      "poll:\n"
      "  interval: 1s\n";
  const Config config = parse_config(yaml, {});
  EXPECT_EQ(config.web.listen_address, "[::1]:9100");
  EXPECT_EQ(config.web.telemetry_path, "/usage/metrics");
  EXPECT_EQ(config.web.max_connections, 200);
  EXPECT_EQ(config.poll.interval, seconds{1});
  const ScalrTarget& target = only_target(config);
  EXPECT_EQ(target.url, "https://acme.scalr.io");
  EXPECT_EQ(target.token.reveal(), kToken);
  EXPECT_EQ(target.token_origin, "token_file " + token_file.string());
  EXPECT_EQ(target.accounts, (std::vector<std::string>{"acc-1", "acc-2"}));
  EXPECT_EQ(target.prefer_profile, "");
  EXPECT_EQ(target.page_size, 1000);
  EXPECT_EQ(target.timeout, seconds{90});
  EXPECT_EQ(target.max_response_bytes, 1024u);
  EXPECT_EQ(target.max_pages, 7);
  EXPECT_EQ(target.ca_file, ca_file.string());
  EXPECT_EQ(target.retry.max_attempts, 20);
  EXPECT_EQ(target.retry.initial_backoff, milliseconds{250});
  EXPECT_EQ(target.retry.max_backoff, milliseconds{250});
}

TEST(ConfigValues, IntegerBoundsAreInclusive) {
  EXPECT_EQ(only_target(parse_config(minimal_yaml("  page_size: 1\n"), token_env())).page_size, 1);
  EXPECT_EQ(only_target(parse_config(minimal_yaml("  retry:\n    max_attempts: 1\n"), token_env()))
                .retry.max_attempts,
            1);
}

TEST(ConfigValues, MaxConnectionsIsBounded) {
  for (const char* wrong : {"1", "1025", "-4", "many"}) {
    expect_rejected(std::string("web:\n  max_connections: ") + wrong + "\n" + minimal_yaml(),
                    "web.max_connections", "want an integer from 2 to 1024");
  }
}

TEST(ConfigValues, QuotedNumbersAreAccepted) {
  EXPECT_EQ(only_target(parse_config(minimal_yaml("  page_size: \"50\"\n"), token_env())).page_size,
            50);
}

// --- token ---------------------------------------------------------------------------------

TEST(ConfigToken, TokenFileTrailingNewlineIsTrimmed) {
  const TempDir dir;
  const auto file = dir.write("token", std::string(kToken) + "\r\n\n");
  const Config config = parse_config(minimal_yaml("  token_file: " + file.string() + "\n"), {});
  EXPECT_EQ(only_target(config).token.reveal(), kToken);
  EXPECT_EQ(only_target(config).token_origin, "token_file " + file.string());
}

TEST(ConfigToken, TokenFileWinsOverEnvironment) {
  const TempDir dir;
  const auto file = dir.write("token", "from-file");
  const Config config =
      parse_config(minimal_yaml("  token_file: " + file.string() + "\n"), token_env());
  EXPECT_EQ(only_target(config).token.reveal(), "from-file");
}

TEST(ConfigToken, EnvironmentUsedWithoutTokenFile) {
  const Config config = parse_config(minimal_yaml(), {{"SCALR_TOKEN", std::string(kToken) + "\n"}});
  EXPECT_EQ(only_target(config).token.reveal(), kToken);
  EXPECT_EQ(only_target(config).token_origin, "env SCALR_TOKEN");
}

// systemd LoadCredential=: the config names the credential, the daemon reads it from
// $CREDENTIALS_DIRECTORY.
TEST(ConfigToken, TokenFromSystemdCredential) {
  const TempDir dir;
  dir.write("scalr-token", std::string(kToken) + "\n");
  const Config config = parse_config(minimal_yaml("  token_credential: scalr-token\n"),
                                     {{"CREDENTIALS_DIRECTORY", dir.path().string()}});
  EXPECT_EQ(only_target(config).token.reveal(), kToken);
  EXPECT_EQ(only_target(config).token_origin,
            "token_file " + (dir.path() / "scalr-token").string());
}

TEST(ConfigToken, CredentialNeedsCredentialsDirectoryAndAValidName) {
  expect_rejected(minimal_yaml("  token_credential: scalr-token\n"), "scalr.token_credential",
                  "CREDENTIALS_DIRECTORY is not set");
  expect_rejected(minimal_yaml("  token_credential: ../etc/passwd\n"), "scalr.token_credential",
                  "invalid credential name", {{"CREDENTIALS_DIRECTORY", "/run/credentials/x"}});
  expect_rejected(minimal_yaml("  token_credential: a\n  token_file: /x\n"),
                  "scalr.token_credential", "only one of",
                  {{"CREDENTIALS_DIRECTORY", "/run/credentials/x"}});
}

TEST(ConfigPostgres, DsnFromSystemdCredential) {
  const TempDir dir;
  dir.write("postgres-dsn", "host=127.0.0.1 dbname=scalr user=exporter password=pw-SECRET\n");
  const Config config =
      parse_config("source: postgres\npostgres:\n  dsn_credential: postgres-dsn\n",
                   {{"CREDENTIALS_DIRECTORY", dir.path().string()}});
  ASSERT_TRUE(is_postgres(config));
  EXPECT_THAT(std::get<PostgresConfig>(config.source).dsn.reveal(), HasSubstr("dbname=scalr"));
  EXPECT_THAT(std::get<PostgresConfig>(config.source).dsn_origin, HasSubstr("postgres-dsn"));
}

TEST(ConfigToken, NoTokenAnywhere) {
  EXPECT_EQ(config_error(minimal_yaml(), {{"OTHER", "x"}}),
            "scalr.token_file: no token: set scalr.token_file, token_credential or SCALR_TOKEN");
}

TEST(ConfigToken, EmptyEnvironmentToken) {
  expect_rejected(minimal_yaml(), "scalr.token_file", "SCALR_TOKEN is empty",
                  {{"SCALR_TOKEN", " \n"}});
}

TEST(ConfigToken, EmptyOrBlankTokenFile) {
  const TempDir dir;
  for (const char* content : {"", "\n", "  \t\r\n"}) {
    const auto file = dir.write("token", content);
    expect_rejected(minimal_yaml("  token_file: " + file.string() + "\n"), "scalr.token_file",
                    file.string() + " is empty");
  }
}

TEST(ConfigToken, MissingTokenFileNamesPathAndReason) {
  const TempDir dir;
  const auto missing = dir.path() / "no-such-token";
  EXPECT_EQ(config_error(minimal_yaml("  token_file: " + missing.string() + "\n")),
            "scalr.token_file: cannot read " + missing.string() + ": No such file or directory");
}

TEST(ConfigToken, TokenFileThatIsADirectory) {
  const TempDir dir;
  expect_rejected(minimal_yaml("  token_file: " + dir.path().string() + "\n"), "scalr.token_file",
                  dir.path().string() + ": Is a directory");
}

// A FIFO would block the start until something writes to it, a device may never end: neither is
// opened. (Were the FIFO opened, this test would hang and time out.)
TEST(ConfigToken, TokenOrDsnFileThatIsAFifoOrDeviceIsRejectedWithoutOpeningIt) {
  const TempDir dir;
  const auto fifo = dir.path() / "token.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_rejected(minimal_yaml("  token_file: " + fifo.string() + "\n"), "scalr.token_file",
                  fifo.string() + ": not a regular file");
  expect_rejected(minimal_yaml("  token_file: /dev/zero\n"), "scalr.token_file",
                  "/dev/zero: not a regular file");
  expect_rejected(minimal_yaml("  ca_file: " + fifo.string() + "\n"), "scalr.ca_file",
                  "not a regular file");
}

TEST(ConfigToken, EmptyTokenFilePathIsRejected) {
  expect_rejected(minimal_yaml("  token_file: \"\"\n"), "scalr.token_file", "want a file path");
}

TEST(ConfigToken, TokenWithInnerWhitespaceIsRejectedWithoutShowingIt) {
  const TempDir dir;
  const auto file = dir.write("token", std::string(kToken) + " " + kToken + "\n");
  expect_rejected(minimal_yaml("  token_file: " + file.string() + "\n"), "scalr.token_file",
                  "contains spaces or non-printable characters");
  expect_rejected(minimal_yaml(), "scalr.token_file", "SCALR_TOKEN contains spaces",
                  {{"SCALR_TOKEN", std::string(kToken) + "\nX-Injected: 1"}});
}

TEST(ConfigToken, OversizedTokenFileIsRejected) {
  const TempDir dir;
  const auto file = dir.write("token", std::string(100 * 1024, 'a'));
  expect_rejected(minimal_yaml("  token_file: " + file.string() + "\n"), "scalr.token_file",
                  "larger than 64 KiB");
}

TEST(ConfigToken, TokenNeverAppearsInAnyError) {
  const TempDir dir;
  const auto token_file = dir.write("token", std::string(kToken) + "\n");
  const std::string with_file = "  token_file: " + token_file.string() + "\n";
  // config_error() asserts the token is absent, from both the file and the environment.
  for (const std::string& yaml : {
           minimal_yaml(with_file + "  page_size: abc\n"),
           minimal_yaml(with_file + "  token: tok-SECRET-123\n"),
           minimal_yaml(with_file + "  timeout: 3x\n"),
           minimal_yaml(with_file + "  retry:\n    max_backoff: 1ms\n"),
           minimal_yaml("  token_file: " + (dir.path() / "missing").string() + "\n"),
           minimal_yaml("  token_file: " + dir.path().string() + "\n"),
           minimal_yaml(with_file + "  accounts: []\n"),
           std::string("scalr:\n  url: https://tok-SECRET-123@example.scalr.io\n"
                       "  accounts: [a]\n"),
           std::string("scalr:\n  url: https://example.scalr.io/?token=tok-SECRET-123\n"
                       "  accounts: [a]\n"),
           std::string("scalr: [\n"),
           std::string("web:\n  listen_address: nope\n") + minimal_yaml(with_file),
       }) {
    config_error(yaml);
  }
  const auto bad_token = dir.write("bad-token", std::string(kToken) + "\t" + kToken);
  config_error(minimal_yaml("  token_file: " + bad_token.string() + "\n"));
  config_error(minimal_yaml(), {{"SCALR_TOKEN", std::string(kToken) + " x"}});
}

// --- whole document ------------------------------------------------------------------------

TEST(ConfigDocument, EmptyFile) {
  expect_rejected("", "config.file", "empty");
  expect_rejected("# only a comment\n\n", "config.file", "empty");
  expect_rejected("---\n", "config.file", "empty");
}

TEST(ConfigDocument, SyntaxErrorNamesLineAndColumn) {
  expect_rejected("scalr:\n  url: [unclosed\n  accounts: x\n", "config.file",
                  "YAML syntax error at line ");
  const std::string message = config_error("scalr:\n  url: x\n bad: indent\n");
  EXPECT_THAT(message, StartsWith("config.file: YAML syntax error at line 3, column "));
}

TEST(ConfigDocument, TopLevelMustBeAMapping) {
  expect_rejected("- a\n- b\n", "config.file",
                  "want a mapping of keys at the top level, got a list");
  expect_rejected("just text\n", "config.file", "got a single value");
}

TEST(ConfigDocument, SeveralDocumentsAreRejected) {
  expect_rejected(minimal_yaml() + "---\n" + minimal_yaml(), "config.file", "2 YAML documents");
}

TEST(ConfigDocument, RequiredKeys) {
  expect_rejected("web:\n  telemetry_path: /metrics\n", "scalr", "required");
  expect_rejected("scalr:\n", "scalr.url", "required");
  expect_rejected("scalr:\n  accounts: [a]\n", "scalr.url", "required");
  expect_rejected("scalr:\n  url: https://example.scalr.io\n", "scalr.accounts", "required");
}

// --- unknown keys --------------------------------------------------------------------------

TEST(ConfigUnknownKeys, NamedWithTheirFullPath) {
  expect_rejected("scrape:\n  x: 1\n" + minimal_yaml(), "scrape", "unknown key");
  expect_rejected("web:\n  listen: :9100\n" + minimal_yaml(), "web.listen", "unknown key");
  expect_rejected(minimal_yaml("  retry:\n    max_attemps: 3\n"), "scalr.retry.max_attemps",
                  "unknown key");
  expect_rejected("poll:\n  every: 5m\n" + minimal_yaml(), "poll.every", "unknown key");
}

TEST(ConfigUnknownKeys, MisspeltKeyGetsASuggestion) {
  const std::string message = config_error(minimal_yaml("  tokne_file: /x\n"));
  EXPECT_THAT(message, StartsWith("scalr.tokne_file: unknown key"));
  EXPECT_THAT(message, HasSubstr("did you mean token_file?"));
  EXPECT_THAT(message, HasSubstr("(line 4)"));
  EXPECT_THAT(config_error(minimal_yaml("  token: x\n")), HasSubstr("did you mean token_file?"));
  EXPECT_THAT(config_error(minimal_yaml("  retry:\n    max_attemps: 3\n")),
              HasSubstr("did you mean max_attempts?"));
  EXPECT_EQ(config_error("zzzzzz: 1\n" + minimal_yaml()), "zzzzzz: unknown key (line 1)");
}

TEST(ConfigUnknownKeys, OddKeysStayOnOneLine) {
  expect_rejected(minimal_yaml("  \"a b\": 1\n"), "scalr.\"a b\"", "unknown key");
  expect_rejected(minimal_yaml("  \"a\\nb\": 1\n"), "scalr", "want a plain key on a single line");
  expect_rejected(minimal_yaml("  [a, b]: 1\n"), "scalr", "want a plain key, got a list");
  expect_rejected(minimal_yaml("  ~: 1\n"), "scalr", "want a plain key, got no value");
}

TEST(ConfigUnknownKeys, DuplicateKey) {
  expect_rejected(minimal_yaml("  page_size: 10\n  page_size: 20\n"), "scalr.page_size",
                  "duplicate key");
}

TEST(ConfigUnknownKeys, FutureKeysAreNotAcceptedYet) {
  expect_rejected("targets: []\n" + minimal_yaml(), "targets", "unknown key");
}

// --- types ---------------------------------------------------------------------------------

TEST(ConfigTypes, SectionsMustBeMappings) {
  expect_rejected("web: 1\n" + minimal_yaml(), "web", "want a mapping of keys, got a single value");
  expect_rejected("scalr: [a]\n", "scalr", "want a mapping of keys, got a list");
  expect_rejected(minimal_yaml("  retry: [1]\n"), "scalr.retry", "got a list");
  expect_rejected("poll: 5m\n" + minimal_yaml(), "poll", "got a single value");
}

TEST(ConfigTypes, ScalarsRejectListsMappingsAndNothing) {
  expect_rejected(minimal_yaml("  page_size: [1, 2]\n"), "scalr.page_size",
                  "want an integer from 1 to 1000, got a list");
  expect_rejected(minimal_yaml("  timeout: {a: 1}\n"), "scalr.timeout", "got a mapping");
  expect_rejected(minimal_yaml("  timeout:\n"), "scalr.timeout", "got no value");
  expect_rejected("scalr:\n  url: [https://x]\n  accounts: [a]\n", "scalr.url",
                  "want a URL, got a list");
  expect_rejected(minimal_yaml("  prefer_profile:\n"), "scalr.prefer_profile", "got no value");
  expect_rejected("source: [scalr_api]\n" + minimal_yaml(), "source", "got a list");
}

TEST(ConfigTypes, IntegersMustBeWholeNumbersInRange) {
  for (const char* value :
       {"abc", "1.5", "0x10", "10k", "-1", "0", "1001", "\"\"", "1e2", "99999999999999999999"}) {
    expect_rejected(minimal_yaml(std::string("  page_size: ") + value + "\n"), "scalr.page_size",
                    "want an integer from 1 to 1000");
  }
  expect_rejected(minimal_yaml("  max_response_bytes: 0\n"), "scalr.max_response_bytes",
                  "want an integer of at least 1, got \"0\"");
  expect_rejected(minimal_yaml("  max_pages: 0\n"), "scalr.max_pages", "want an integer from 1");
  expect_rejected(minimal_yaml("  max_pages: 3000000000\n"), "scalr.max_pages", "want an integer");
  expect_rejected(minimal_yaml("  retry:\n    max_attempts: 0\n"), "scalr.retry.max_attempts",
                  "from 1 to 20");
  expect_rejected(minimal_yaml("  retry:\n    max_attempts: 21\n"), "scalr.retry.max_attempts",
                  "from 1 to 20");
}

TEST(ConfigTypes, StringsMustBeOneLine) {
  expect_rejected(minimal_yaml("  prefer_profile: \"a\\nb\"\n"), "scalr.prefer_profile",
                  "single line");
}

// --- durations -----------------------------------------------------------------------------

TEST(ConfigDurations, InvalidDurationNamesKeyAndWhatIsWanted) {
  expect_rejected(minimal_yaml("  timeout: 3x\n"), "scalr.timeout",
                  "invalid duration \"3x\" (want e.g. 30s, 5m, 1h)");
  expect_rejected(minimal_yaml("  timeout: 30\n"), "scalr.timeout", "want e.g. 30s");
  expect_rejected(minimal_yaml("  retry:\n    initial_backoff: -1s\n"),
                  "scalr.retry.initial_backoff", "negative");
  expect_rejected("poll:\n  interval: 5 minutes\n" + minimal_yaml(), "poll.interval",
                  "invalid duration");
}

TEST(ConfigDurations, LowerBounds) {
  expect_rejected(minimal_yaml("  timeout: 0s\n"), "scalr.timeout", "must be greater than 0s");
  expect_rejected(minimal_yaml("  retry:\n    initial_backoff: 0s\n"),
                  "scalr.retry.initial_backoff", "greater than 0s");
  expect_rejected("poll:\n  interval: 999ms\n" + minimal_yaml(), "poll.interval",
                  "must be at least 1s, got 999ms");
}

// --- poll.shard ----------------------------------------------------------------------------

TEST(ConfigShard, NotShardedByDefault) {
  EXPECT_EQ(parse_config(minimal_yaml(), token_env()).poll.shard, (ShardSpec{0, 1}));
  EXPECT_EQ(parse_config("poll:\n  shard:\n" + minimal_yaml(), token_env()).poll.shard,
            (ShardSpec{0, 1}));
}

TEST(ConfigShard, IndexAndCount) {
  const Config config =
      parse_config("poll:\n  shard: {index: 2, count: 3}\n" + minimal_yaml(), token_env());
  EXPECT_EQ(config.poll.shard, (ShardSpec{2, 3}));
  EXPECT_EQ(
      parse_config("poll:\n  shard:\n    index: 0\n    count: 1\n" + minimal_yaml(), token_env())
          .poll.shard,
      (ShardSpec{0, 1}));
}

TEST(ConfigShard, ErrorsNameTheKey) {
  expect_rejected("poll:\n  shard: {index: 2, count: 2}\n" + minimal_yaml(), "poll.shard.index",
                  "must be less than poll.shard.count (2): shards are numbered from 0, got 2");
  expect_rejected("poll:\n  shard: {index: 0, count: 0}\n" + minimal_yaml(), "poll.shard.count",
                  "want an integer of at least 1, got \"0\"");
  expect_rejected("poll:\n  shard: {index: -1, count: 2}\n" + minimal_yaml(), "poll.shard.index",
                  "want an integer of at least 0");
  expect_rejected("poll:\n  shard: {index: one, count: 2}\n" + minimal_yaml(), "poll.shard.index",
                  "want an integer");
  expect_rejected("poll:\n  shard: {count: 2}\n" + minimal_yaml(), "poll.shard.index",
                  "required with poll.shard.count");
  expect_rejected("poll:\n  shard: {index: 1}\n" + minimal_yaml(), "poll.shard.count",
                  "required with poll.shard.index");
  expect_rejected("poll:\n  shard: {index: 1, of: 2}\n" + minimal_yaml(), "poll.shard.of",
                  "unknown key");
  expect_rejected("poll:\n  shard: 1/2\n" + minimal_yaml(), "poll.shard", "got a single value");
}

TEST(ConfigDurations, MaxBackoffMustNotBeBelowInitial) {
  expect_rejected(minimal_yaml("  retry:\n    initial_backoff: 5s\n    max_backoff: 2s\n"),
                  "scalr.retry.max_backoff", "2s is less than scalr.retry.initial_backoff (5s)");
  // Only the initial backoff was written, so that is the key to blame.
  expect_rejected(minimal_yaml("  retry:\n    initial_backoff: 1m\n"),
                  "scalr.retry.initial_backoff", "1m is more than scalr.retry.max_backoff (30s");
  expect_rejected(minimal_yaml("  retry:\n    max_backoff: 500ms\n"), "scalr.retry.max_backoff",
                  "less than scalr.retry.initial_backoff (1s)");
}

// A target inherits the block's retry settings; a bad pair names the keys where each was written,
// not a key of the target that nobody wrote.
TEST(ConfigDurations, MaxBackoffBelowInitialAcrossBlockAndTarget) {
  const std::string target =
      "    - {name: a, url: \"https://a.scalr.io\", token_env: T, accounts: [acc-1]";
  const Environment env{{"T", "tok"}};
  expect_rejected("scalr:\n  retry: {max_backoff: 1s}\n  targets:\n" + target +
                      ", retry: {initial_backoff: 2s}}\n",
                  "scalr.retry.max_backoff",
                  "1s is less than scalr.targets[0].retry.initial_backoff (2s)", env);
  expect_rejected("scalr:\n  retry: {initial_backoff: 5s}\n  targets:\n" + target +
                      ", retry: {max_backoff: 2s}}\n",
                  "scalr.targets[0].retry.max_backoff",
                  "2s is less than scalr.retry.initial_backoff (5s)", env);
  expect_rejected("scalr:\n  retry: {initial_backoff: 1m}\n  targets:\n" + target + "}\n",
                  "scalr.retry.initial_backoff",
                  "1m is more than scalr.targets[0].retry.max_backoff (30s, the default)", env);
}

// --- web -----------------------------------------------------------------------------------

TEST(ConfigWeb, ValidListenAddresses) {
  for (const char* address : {"0.0.0.0:9871", ":9871", "[::1]:9871", "[::]:1", "localhost:65535",
                              "exporter.local:80", "[fe80::1%eth0]:9100"}) {
    const Config config = parse_config(
        "web:\n  listen_address: \"" + std::string(address) + "\"\n" + minimal_yaml(), token_env());
    EXPECT_EQ(config.web.listen_address, address);
  }
}

TEST(ConfigWeb, InvalidListenAddresses) {
  for (const char* address :
       {"9871", "localhost", "host:0", "host:65536", "host:", "host:abc", "::1:9871", "[::1]",
        "[::1]9871", "[::1:9871", "[]:9871", "[host]:80", "a b:1", "", "host:-1", "host:+80"}) {
    expect_rejected("web:\n  listen_address: \"" + std::string(address) + "\"\n" + minimal_yaml(),
                    "web.listen_address", "want HOST:PORT, [IPv6]:PORT or :PORT");
  }
  EXPECT_THAT(config_error("web:\n  listen_address: \"::1:9871\"\n" + minimal_yaml()),
              HasSubstr("need brackets"));
  EXPECT_THAT(config_error("web:\n  listen_address: \"h:70000\"\n" + minimal_yaml()),
              HasSubstr("from 1 to 65535"));
}

TEST(ConfigWeb, ValidateListenAddressIsShared) {
  EXPECT_NO_THROW(validate_listen_address(":9871"));
  EXPECT_THROW(validate_listen_address("9871"), std::invalid_argument);
}

TEST(ConfigWeb, TelemetryPath) {
  EXPECT_EQ(parse_config("web:\n  telemetry_path: /x/metrics\n" + minimal_yaml(), token_env())
                .web.telemetry_path,
            "/x/metrics");
  for (const char* path :
       {"metrics", "\"\"", "/", "/-/healthy", "/-/ready", "/-/", "/m?x=1", "/m#top", "\"/a b\""}) {
    expect_rejected("web:\n  telemetry_path: " + std::string(path) + "\n" + minimal_yaml(),
                    "web.telemetry_path", "");
  }
  EXPECT_THAT(config_error("web:\n  telemetry_path: metrics\n" + minimal_yaml()),
              HasSubstr("must start with \"/\""));
  EXPECT_THAT(config_error("web:\n  telemetry_path: /-/healthy\n" + minimal_yaml()),
              HasSubstr("reserved"));
}

// --- source --------------------------------------------------------------------------------

TEST(ConfigSource, ScalrApiOrPostgres) {
  const Config api = parse_config("source: scalr_api\n" + minimal_yaml(), token_env());
  EXPECT_EQ(source_of(api), "scalr_api");
  EXPECT_FALSE(is_postgres(api));
  const Config postgres =
      parse_config("source: postgres\npostgres:\n  dsn: host=db\n", token_env());
  EXPECT_EQ(source_of(postgres), "postgres");
  EXPECT_TRUE(is_postgres(postgres));
  EXPECT_FALSE(is_api(postgres));
  expect_rejected("source: mysql\n" + minimal_yaml(), "source",
                  "unknown source \"mysql\" (want scalr_api or postgres)");
}

// --- postgres --------------------------------------------------------------------------------

// Recognisable, so a leak into any message is easy to assert against.
constexpr const char* kPgPassword = "pg-SECRET-987";

std::string postgres_yaml(const std::string& postgres_extra = "",
                          const std::string& dsn = "host=db port=5432 dbname=scalr user=x") {
  return "source: postgres\npostgres:\n  dsn: \"" + dsn + "\"\n" + postgres_extra;
}

const PostgresConfig& only_postgres(const Config& config) {
  EXPECT_TRUE(is_postgres(config));
  return std::get<PostgresConfig>(config.source);
}

// The error of a rejected postgres config; never shows the DSN's password.
void expect_postgres_rejected(const std::string& yaml, const std::string& key,
                              const std::string& detail, const Environment& env = {}) {
  const std::string message = config_error(yaml, env);
  EXPECT_THAT(message, StartsWith(key + ": ")) << yaml;
  EXPECT_THAT(message, HasSubstr(detail)) << yaml;
  EXPECT_THAT(message, Not(HasSubstr(kPgPassword))) << message;
}

TEST(ConfigPostgres, MinimalFileFillsInEveryDefault) {
  const Config config = parse_config(postgres_yaml(), {});
  const PostgresConfig& postgres = only_postgres(config);
  EXPECT_EQ(postgres.dsn.reveal(), "host=db port=5432 dbname=scalr user=x");
  EXPECT_EQ(postgres.dsn_origin, "postgres.dsn");
  EXPECT_TRUE(postgres.accounts.empty());
  EXPECT_EQ(postgres.query, "");
  EXPECT_EQ(postgres.statement_timeout, seconds{30});
  EXPECT_FALSE(is_api(config));
}

TEST(ConfigPostgres, EveryKeyCanBeSet) {
  const Config config = parse_config(postgres_yaml("  accounts: [acc-1, acc-2]\n"
                                                   "  query: |\n"
                                                   "    SELECT *\n"
                                                   "    \tFROM usage_rows\n"
                                                   "    WHERE day >= $1 AND day < $2;\n"
                                                   "  statement_timeout: 1m30s\n",
                                                   "postgresql://x@db/scalr?sslmode=require"),
                                     {});
  const PostgresConfig& postgres = only_postgres(config);
  EXPECT_EQ(postgres.dsn.reveal(), "postgresql://x@db/scalr?sslmode=require");
  EXPECT_EQ(postgres.accounts, (std::vector<std::string>{"acc-1", "acc-2"}));
  // Trailing semicolons and whitespace go: the query is run as a subquery.
  EXPECT_EQ(postgres.query, "SELECT *\n\tFROM usage_rows\nWHERE day >= $1 AND day < $2");
  EXPECT_EQ(postgres.statement_timeout, seconds{90});
}

TEST(ConfigPostgres, ScalrSectionNotNeededAndNotResolved) {
  // A scalr: block kept around while trying the postgres source: checked for keys, nothing more.
  const Config config =
      parse_config(postgres_yaml() + "scalr:\n  accounts: [a]\n  page_size: 5\n", {});
  EXPECT_FALSE(is_api(config));
  expect_postgres_rejected(postgres_yaml() + "scalr:\n  pagesize: 5\n", "scalr.pagesize",
                           "unknown key");
}

TEST(ConfigPostgres, PostgresSectionNotNeededForTheApi) {
  // The unselected section is checked for keys and types only; its DSN is not even parsed.
  const Config config =
      parse_config(minimal_yaml() + "postgres:\n  dsn: \"not a ' dsn\"\n  dsn_file: /nonexistent\n",
                   token_env());
  EXPECT_FALSE(is_postgres(config));
  expect_rejected(minimal_yaml() + "postgres:\n  dns: x\n", "postgres.dns",
                  "unknown key, did you mean dsn?");
  expect_rejected(minimal_yaml() + "postgres:\n  statement_timeout: soon\n",
                  "postgres.statement_timeout", "invalid duration");
}

TEST(ConfigPostgres, SectionRequiredWithTheSource) {
  expect_postgres_rejected("source: postgres\n", "postgres", "required with source: postgres");
  expect_postgres_rejected("source: postgres\n" + minimal_yaml(), "postgres", "required");
  expect_postgres_rejected("source: postgres\npostgres:\n", "postgres.dsn",
                           "required: set postgres.dsn, postgres.dsn_file or SCALR_USAGE_PG_DSN");
  expect_postgres_rejected("source: postgres\npostgres: [a]\n", "postgres", "got a list");
}

TEST(ConfigPostgres, DsnPrecedence) {
  const TempDir dir;
  const auto file = dir.write("pg.dsn", "host=from-file\n");
  const Environment env{{"SCALR_USAGE_PG_DSN", "host=from-env"}};
  const std::string with_file = "  dsn_file: " + file.string() + "\n";

  const auto from = [&](const std::string& yaml, const Environment& e) {
    return only_postgres(parse_config(yaml, e));
  };
  EXPECT_EQ(from(postgres_yaml(with_file, "host=inline"), env).dsn.reveal(), "host=inline");
  const PostgresConfig file_wins = from("source: postgres\npostgres:\n" + with_file, env);
  EXPECT_EQ(file_wins.dsn.reveal(), "host=from-file");
  EXPECT_EQ(file_wins.dsn_origin, "dsn_file " + file.string());
  const PostgresConfig env_only = from("source: postgres\npostgres:\n", env);
  EXPECT_EQ(env_only.dsn.reveal(), "host=from-env");
  EXPECT_EQ(env_only.dsn_origin, "env SCALR_USAGE_PG_DSN");
}

TEST(ConfigPostgres, DsnFileMayUseSeveralLines) {
  const TempDir dir;
  const auto file = dir.write("pg.dsn", "  host=db\n  user=x\n\n");
  const Config config =
      parse_config("source: postgres\npostgres:\n  dsn_file: " + file.string() + "\n", {});
  EXPECT_EQ(only_postgres(config).dsn.reveal(), "host=db\n  user=x");
}

TEST(ConfigPostgres, DsnFileProblems) {
  const TempDir dir;
  const auto missing = dir.path() / "missing.dsn";
  const auto yaml = [](const std::filesystem::path& path) {
    return "source: postgres\npostgres:\n  dsn_file: " + path.string() + "\n";
  };
  EXPECT_EQ(config_error(yaml(missing)),
            "postgres.dsn_file: cannot read " + missing.string() + ": No such file or directory");
  const auto empty = dir.write("empty.dsn", " \n");
  expect_postgres_rejected(yaml(empty), "postgres.dsn_file",
                           "no DSN: dsn_file " + empty.string() + " is empty");
  const auto huge = dir.write("huge.dsn", std::string(100 * 1024, 'a'));
  expect_postgres_rejected(yaml(huge), "postgres.dsn_file", "larger than 64 KiB");
  const auto binary = dir.write("binary.dsn", std::string("host=db\0x", 9));
  expect_postgres_rejected(yaml(binary), "postgres.dsn_file", "control characters");
  expect_postgres_rejected("source: postgres\npostgres:\n  dsn_file: \"\"\n", "postgres.dsn_file",
                           "want a file path");
}

TEST(ConfigPostgres, InvalidDsnIsRejectedWithoutItsPassword) {
  const std::string password = kPgPassword;
  expect_postgres_rejected(postgres_yaml("", "host=db password=" + password + " bogus"),
                           "postgres.dsn",
                           "invalid connection string: missing \"=\" after \"bogus\"");
  expect_postgres_rejected(postgres_yaml("", "host=db nosuchoption=1 password=" + password),
                           "postgres.dsn", "invalid connection option \"nosuchoption\"");
  expect_postgres_rejected(postgres_yaml("", "host=db password='" + password), "postgres.dsn",
                           "unterminated quoted string");
  expect_postgres_rejected(postgres_yaml("", "postgresql://x:" + password + "@db/scalr?nosuch=1"),
                           "postgres.dsn", "invalid URI query parameter: \"nosuch\"");
  expect_postgres_rejected(postgres_yaml("", ""), "postgres.dsn", "no DSN: postgres.dsn is empty");
  expect_postgres_rejected("source: postgres\npostgres:\n", "postgres.dsn",
                           "invalid connection string in env SCALR_USAGE_PG_DSN",
                           {{"SCALR_USAGE_PG_DSN", "password=" + password + " =x"}});
  expect_postgres_rejected(postgres_yaml("", "host=db\\npassword=" + password), "postgres.dsn",
                           "single line");
}

TEST(ConfigPostgres, Accounts) {
  EXPECT_TRUE(only_postgres(parse_config(postgres_yaml("  accounts: []\n"), {})).accounts.empty());
  expect_postgres_rejected(postgres_yaml("  accounts: [a, a]\n"), "postgres.accounts[1]",
                           "duplicate \"a\"");
  expect_postgres_rejected(postgres_yaml("  accounts: a\n"), "postgres.accounts",
                           "want a list of account IDs, got a single value");
}

TEST(ConfigPostgres, Query) {
  expect_postgres_rejected(postgres_yaml("  query: \" ;\\n ; \"\n"), "postgres.query",
                           "must not be empty (leave the key out for the default query)");
  expect_postgres_rejected(postgres_yaml("  query: \"SELECT \\x01\"\n"), "postgres.query",
                           "want an SQL query without control characters");
  expect_postgres_rejected(postgres_yaml("  query: [a]\n"), "postgres.query", "got a list");
}

TEST(ConfigPostgres, QueryTerminatorIsRemovedButNotFromStrings) {
  const auto query = [](const std::string& text) {
    return only_postgres(parse_config(postgres_yaml("  query: " + text + "\n"), {})).query;
  };
  EXPECT_EQ(query("\"SELECT 1;  -- as pasted from psql\\n;\\n/* done */\""), "SELECT 1");
  EXPECT_EQ(query("\"SELECT 1 -- no terminator, a comment\""),
            "SELECT 1 -- no terminator, a comment");
  EXPECT_EQ(query("\"SELECT ';', \\\"a;b\\\", $x$;$x$, E'\\\\';', $1; \""),
            "SELECT ';', \"a;b\", $x$;$x$, E'\\';', $1");
  EXPECT_EQ(query("\"SELECT 1 /* ; /* nested ; */ ; */ + 2;\""),
            "SELECT 1 /* ; /* nested ; */ ; */ + 2");
  EXPECT_EQ(query("\"SELECT 'it''s; fine'\""), "SELECT 'it''s; fine'");
  expect_postgres_rejected(postgres_yaml("  query: \"SELECT 1; SELECT 2\"\n"), "postgres.query",
                           "want a single statement");
  expect_postgres_rejected(postgres_yaml("  query: \"SELECT 1; DROP TABLE scalr_runs;\"\n"),
                           "postgres.query", "want a single statement");
}

TEST(ConfigPostgres, StatementTimeout) {
  expect_postgres_rejected(postgres_yaml("  statement_timeout: 0s\n"), "postgres.statement_timeout",
                           "must be greater than 0s");
  expect_postgres_rejected(postgres_yaml("  statement_timeout: 30d\n"),
                           "postgres.statement_timeout", "must be at most 24d20h31m23s647ms");
  EXPECT_EQ(only_postgres(parse_config(postgres_yaml("  statement_timeout: 250ms\n"), {}))
                .statement_timeout,
            milliseconds{250});
}

// --- scalr.url -----------------------------------------------------------------------------

struct UrlCase {
  const char* given;
  const char* normalised;
};

class ConfigUrlNormalisation : public ::testing::TestWithParam<UrlCase> {};

TEST_P(ConfigUrlNormalisation, Normalises) {
  const std::string yaml =
      "scalr:\n  url: \"" + std::string(GetParam().given) + "\"\n  accounts: [a]\n";
  EXPECT_EQ(only_target(parse_config(yaml, token_env())).url, GetParam().normalised);
}

INSTANTIATE_TEST_SUITE_P(
    Urls, ConfigUrlNormalisation,
    ::testing::Values(UrlCase{"https://example.scalr.io", "https://example.scalr.io"},
                      UrlCase{"https://example.scalr.io/", "https://example.scalr.io"},
                      UrlCase{"https://example.scalr.io//", "https://example.scalr.io"},
                      UrlCase{"https://example.scalr.io/api/iacp/v3", "https://example.scalr.io"},
                      UrlCase{"https://example.scalr.io/api/iacp/v3/", "https://example.scalr.io"},
                      UrlCase{"HTTPS://Example.Scalr.IO", "https://example.scalr.io"},
                      UrlCase{"http://localhost:8080", "http://localhost:8080"},
                      UrlCase{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
                      UrlCase{"http://[::1]:8080/api/iacp/v3", "http://[::1]:8080"},
                      UrlCase{"https://proxy.local/scalr/api/iacp/v3", "https://proxy.local/scalr"},
                      UrlCase{"https://proxy.local/scalr/", "https://proxy.local/scalr"}));

TEST(ConfigUrl, Rejected) {
  const auto url_error = [](const std::string& url) {
    return config_error("scalr:\n  url: \"" + url + "\"\n  accounts: [a]\n");
  };
  EXPECT_THAT(url_error("example.scalr.io"), StartsWith("scalr.url: want an http or https URL"));
  EXPECT_THAT(url_error("ftp://example.scalr.io"), HasSubstr("unsupported scheme \"ftp\""));
  EXPECT_THAT(url_error("https://"), StartsWith("scalr.url: missing host"));
  EXPECT_THAT(url_error("https:///api/iacp/v3"), StartsWith("scalr.url: missing host"));
  EXPECT_THAT(url_error("https://example.scalr.io?x=1"), HasSubstr("query or fragment"));
  EXPECT_THAT(url_error("https://example.scalr.io/api?x=1"), HasSubstr("query or fragment"));
  EXPECT_THAT(url_error("https://example.scalr.io/#top"), HasSubstr("query or fragment"));
  EXPECT_THAT(url_error("https://example.scalr.io:0"), HasSubstr("from 1 to 65535"));
  EXPECT_THAT(url_error("https://example.scalr.io:https"), StartsWith("scalr.url: "));
  EXPECT_THAT(url_error("https://exa mple.scalr.io"), StartsWith("scalr.url: invalid host"));
  EXPECT_THAT(url_error("https://example.scalr.io/a b"), StartsWith("scalr.url: "));
  EXPECT_THAT(url_error(""), StartsWith("scalr.url: "));
}

TEST(ConfigUrl, CredentialsAreRejectedWithoutBeingEchoed) {
  const std::string message =
      config_error("scalr:\n  url: https://user:hunter2@example.scalr.io\n  accounts: [a]\n");
  EXPECT_THAT(message, StartsWith("scalr.url: must not contain credentials"));
  EXPECT_THAT(message, Not(HasSubstr("hunter2")));
  EXPECT_THAT(config_error("scalr:\n  url: https://x.io/?token=hunter2\n  accounts: [a]\n"),
              Not(HasSubstr("hunter2")));
}

// --- scalr.accounts ------------------------------------------------------------------------

TEST(ConfigAccounts, Rejected) {
  const auto with_accounts = [](const std::string& accounts) {
    return "scalr:\n  url: https://example.scalr.io\n  accounts: " + accounts + "\n";
  };
  expect_rejected(with_accounts("[]"), "scalr.accounts", "got an empty list");
  expect_rejected(with_accounts("acc-1"), "scalr.accounts",
                  "want a list of account IDs, got a single value");
  expect_rejected(with_accounts("{a: 1}"), "scalr.accounts", "got a mapping");
  expect_rejected(with_accounts(""), "scalr.accounts", "got no value");
  expect_rejected(with_accounts("[acc-1, \"\"]"), "scalr.accounts[1]", "must not be empty");
  expect_rejected(with_accounts("[acc-1, acc-2, acc-1]"), "scalr.accounts[2]",
                  "duplicate \"acc-1\"");
  expect_rejected(with_accounts("[\"acc 1\"]"), "scalr.accounts[0]", "whitespace");
  expect_rejected(with_accounts("[[a]]"), "scalr.accounts[0]", "got a list");
  expect_rejected(with_accounts("[~]"), "scalr.accounts[0]", "got no value");
}

// --- other scalr keys ----------------------------------------------------------------------

TEST(ConfigScalr, MaxLabelLength) {
  EXPECT_EQ(only_target(parse_config(minimal_yaml(), token_env())).max_label_length, 1024u);
  EXPECT_EQ(only_target(parse_config("scalr:\n  url: https://example.scalr.io\n  accounts: [a]\n"
                                     "  max_label_length: 1\n",
                                     token_env()))
                .max_label_length,
            1u);
  EXPECT_EQ(only_target(parse_config(minimal_yaml("  max_label_length: 1048576\n"), token_env()))
                .max_label_length,
            1048576u);
  expect_rejected(minimal_yaml("  max_label_length: 0\n"), "scalr.max_label_length",
                  "want an integer from 1 to 1048576");
  expect_rejected(minimal_yaml("  max_label_length: 1048577\n"), "scalr.max_label_length",
                  "want an integer from 1 to 1048576");
  // The configured accounts become labels too: one longer than the bound is refused at start,
  // wherever the key stands, and the message gives its length rather than the id.
  const std::string long_id(9, 'a');
  for (const std::string& yaml :
       {"scalr:\n  url: https://example.scalr.io\n  max_label_length: 8\n  accounts: [acc-1, " +
            long_id + "]\n",
        "scalr:\n  url: https://example.scalr.io\n  accounts: [acc-1, " + long_id +
            "]\n  max_label_length: 8\n"}) {
    const std::string message = config_error(yaml);
    EXPECT_EQ(message, "scalr.accounts[1]: 9 bytes, longer than scalr.max_label_length (8)");
  }
  EXPECT_NO_THROW(
      parse_config("scalr:\n  url: https://example.scalr.io\n  max_label_length: 9\n  accounts: [" +
                       long_id + "]\n",
                   token_env()));
}

TEST(ConfigPostgres, MaxLabelLength) {
  EXPECT_EQ(only_postgres(parse_config(postgres_yaml(), {})).max_label_length, 1024u);
  EXPECT_EQ(
      only_postgres(parse_config(postgres_yaml("  max_label_length: 64\n"), {})).max_label_length,
      64u);
  expect_postgres_rejected(postgres_yaml("  max_label_length: -1\n"), "postgres.max_label_length",
                           "want an integer from 1 to 1048576");
  expect_postgres_rejected(postgres_yaml("  max_label_length: 4\n  accounts: [abcd, abcde]\n"),
                           "postgres.accounts[1]",
                           "5 bytes, longer than postgres.max_label_length (4)");
  // Each section's bound is its own: the unselected scalr: section's does not apply.
  EXPECT_NO_THROW(
      parse_config(postgres_yaml("  accounts: [abcde]\n") + "scalr:\n  max_label_length: 4\n", {}));
}

TEST(ConfigScalr, PreferProfile) {
  EXPECT_EQ(only_target(parse_config(minimal_yaml("  prefer_profile: beta-2\n"), token_env()))
                .prefer_profile,
            "beta-2");
  expect_rejected(minimal_yaml("  prefer_profile: \"a b\"\n"), "scalr.prefer_profile",
                  "want a profile name");
  expect_rejected(minimal_yaml("  prefer_profile: \"a;b=c\"\n"), "scalr.prefer_profile",
                  "want a profile name");
}

TEST(ConfigScalr, CaFile) {
  const TempDir dir;
  const auto ca = dir.write("ca.pem", "pem");
  EXPECT_EQ(only_target(parse_config(minimal_yaml("  ca_file: " + ca.string() + "\n"), token_env()))
                .ca_file,
            ca.string());
  EXPECT_EQ(only_target(parse_config(minimal_yaml("  ca_file: \"\"\n"), token_env())).ca_file, "");
  const auto missing = dir.path() / "missing.pem";
  EXPECT_EQ(config_error(minimal_yaml("  ca_file: " + missing.string() + "\n")),
            "scalr.ca_file: cannot read " + missing.string() + ": No such file or directory");
  expect_rejected(minimal_yaml("  ca_file: " + dir.path().string() + "\n"), "scalr.ca_file",
                  "Is a directory");
  const auto empty = dir.write("empty.pem", "");
  expect_rejected(minimal_yaml("  ca_file: " + empty.string() + "\n"), "scalr.ca_file", "is empty");
}

// --- loading -------------------------------------------------------------------------------

TEST(ConfigLoad, ReadsTheFile) {
  const TempDir dir;
  const auto file = dir.write("config.yml", minimal_yaml());
  EXPECT_EQ(only_target(load_config(file.string(), token_env())).url, "https://example.scalr.io");
}

TEST(ConfigLoad, UnreadableFile) {
  const TempDir dir;
  const auto missing = dir.path() / "missing.yml";
  try {
    load_config(missing.string(), token_env());
    FAIL() << "accepted a missing file";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()),
              "config.file: cannot read " + missing.string() + ": No such file or directory");
  }
  EXPECT_THROW(load_config(dir.path().string(), token_env()), ConfigError);
}

TEST(ConfigLoad, EmptyFile) {
  const TempDir dir;
  const auto file = dir.write("config.yml", "");
  EXPECT_THROW(load_config(file.string(), token_env()), ConfigError);
}

TEST(ConfigEnvironment, ProcessEnvironmentIsTheRealOne) {
  ASSERT_EQ(setenv("SUE_CONFIG_TEST_VARIABLE", "a=b", 1), 0);
  const Environment env = process_environment();
  unsetenv("SUE_CONFIG_TEST_VARIABLE");
  ASSERT_EQ(env.count("SUE_CONFIG_TEST_VARIABLE"), 1u);
  EXPECT_EQ(env.at("SUE_CONFIG_TEST_VARIABLE"), "a=b");
}

// --- billing ---------------------------------------------------------------------------------

TEST(ConfigBilling, DefaultIsNoPlan) {
  const Config config = parse_config(minimal_yaml(), token_env());
  EXPECT_EQ(config.billing.included_runs, 0u);
  EXPECT_EQ(config.billing.overage_price, 0.0);
  EXPECT_EQ(config.billing.currency, "USD");
  EXPECT_FALSE(has_plan(config.billing));
}

TEST(ConfigBilling, Values) {
  const Config config = parse_config(
      minimal_yaml() + "billing:\n  included_runs: 500\n  overage_price: 0.99\n  currency: EUR\n",
      token_env());
  EXPECT_EQ(config.billing.included_runs, 500u);
  EXPECT_EQ(config.billing.overage_price, 0.99);
  EXPECT_EQ(config.billing.currency, "EUR");
  EXPECT_EQ(parse_config(minimal_yaml() + "billing:\n  overage_price: 2\n", token_env())
                .billing.overage_price,
            2.0);
  EXPECT_EQ(parse_config(minimal_yaml() + "billing:\n", token_env()).billing.currency, "USD");
}

TEST(ConfigBilling, Rejected) {
  const auto billing = [](const std::string& lines) {
    return minimal_yaml() + "billing:\n" + lines;
  };
  expect_rejected(billing("  included_runs: -1\n"), "billing.included_runs", "at least 0");
  expect_rejected(billing("  included_runs: 1.5\n"), "billing.included_runs", "integer");
  expect_rejected(billing("  overage_price: -0.5\n"), "billing.overage_price",
                  "want a price from 0 to 1000000");
  for (const char* bad : {"nan", "inf", "1e7", "0,99", "$1", "cheap", "0x10", "\"\""}) {
    expect_rejected(billing("  overage_price: " + std::string(bad) + "\n"), "billing.overage_price",
                    "want a price");
  }
  for (const char* bad : {"usd", "US", "EURO", "E1R", "\"\""}) {
    expect_rejected(billing("  currency: " + std::string(bad) + "\n"), "billing.currency",
                    "3 uppercase letters");
  }
  expect_rejected(billing("  included: 5\n"), "billing.included", "did you mean included_runs?");
  expect_rejected(minimal_yaml() + "billing: 5\n", "billing", "want a mapping");
}

// --- reports ---------------------------------------------------------------------------------

std::string reports_yaml(const std::string& lines) { return minimal_yaml() + "reports:\n" + lines; }

TEST(ConfigReports, DefaultIsNoSchedule) {
  const Config config = parse_config(minimal_yaml(), token_env());
  EXPECT_EQ(config.reports.output_dir, "/var/lib/scalr-usage-exporter/reports");
  EXPECT_TRUE(config.reports.schedules.empty());
  EXPECT_EQ(config.reports.keep, 24);
}

TEST(ConfigReports, Schedules) {
  const Config config = parse_config(reports_yaml("  output_dir: /srv/reports/\n"
                                                  "  keep: 3\n"
                                                  "  schedules:\n"
                                                  "    - name: monthly\n"
                                                  "      cron: \"0 6 1 * *\"\n"
                                                  "      period: previous_month\n"
                                                  "    - name: daily_eu-1\n"
                                                  "      cron: \"@daily\"\n"
                                                  "      period: previous_day\n"
                                                  "      formats: [json, csv]\n"
                                                  "    - name: mtd\n"
                                                  "      cron: 0 7 * * MON\n"
                                                  "      period: month_to_date\n"),
                                     token_env());
  const ReportsConfig& reports = config.reports;
  EXPECT_EQ(reports.output_dir, "/srv/reports/");
  EXPECT_EQ(reports.keep, 3);
  ASSERT_EQ(reports.schedules.size(), 3u);
  EXPECT_EQ(reports.schedules[0].name, "monthly");
  EXPECT_EQ(reports.schedules[0].cron, CronExpression::parse("0 6 1 * *"));
  EXPECT_EQ(reports.schedules[0].period, PeriodKind::previous_month);
  EXPECT_EQ(reports.schedules[0].formats,
            (std::vector<std::string>{"csv", "json", "html", "focus"}));
  EXPECT_EQ(reports.schedules[1].name, "daily_eu-1");
  EXPECT_EQ(reports.schedules[1].cron.text(), "@daily");
  EXPECT_EQ(reports.schedules[1].period, PeriodKind::previous_day);
  EXPECT_EQ(reports.schedules[1].formats, (std::vector<std::string>{"json", "csv"}));
  EXPECT_EQ(reports.schedules[2].period, PeriodKind::month_to_date);
  EXPECT_TRUE(
      parse_config(reports_yaml("  schedules: []\n"), token_env()).reports.schedules.empty());
}

TEST(ConfigReports, WithThePostgresSourceToo) {
  const Config config = parse_config(
      "source: postgres\npostgres:\n  dsn: host=db\nbilling:\n  included_runs: 7\nreports:\n"
      "  schedules:\n    - {name: m, cron: \"0 6 1 * *\", period: previous_month}\n",
      {});
  EXPECT_EQ(config.billing.included_runs, 7u);
  EXPECT_EQ(config.reports.schedules.size(), 1u);
}

TEST(ConfigReports, ScheduleErrorsNameTheKey) {
  const auto one = [](const std::string& fields) {
    return reports_yaml("  schedules:\n    - " + fields + "\n");
  };
  const std::string valid = "cron: \"0 6 1 * *\"\n      period: previous_month";
  expect_rejected(one("name: monthly\n      cron: \"0 24 * * *\"\n      period: previous_month"),
                  "reports.schedules[0].cron", "cron field 'hour': 24 is out of range 0-23");
  expect_rejected(one("name: monthly\n      cron: \"0 6 1 *\"\n      period: previous_month"),
                  "reports.schedules[0].cron", "cron");
  expect_rejected(one("name: monthly\n      " + valid.substr(0, valid.find('\n')) +
                      "\n      period: last_month"),
                  "reports.schedules[0].period", "previous_month, month_to_date or previous_day");
  expect_rejected(one("name: m\n      cron: \"0 6 1 * *\""), "reports.schedules[0].period",
                  "required");
  expect_rejected(one("name: m\n      period: previous_day"), "reports.schedules[0].cron",
                  "required");
  expect_rejected(one(valid), "reports.schedules[0].name", "required");
  for (const char* bad : {"\"\"", "my report", "../x", ".hidden", "a/b", "ü"}) {
    expect_rejected(one("name: " + std::string(bad) + "\n      " + valid),
                    "reports.schedules[0].name", "letters, digits, _ or -");
  }
  expect_rejected(one("name: m\n      " + valid + "\n      formats: [csv, pdf]"),
                  "reports.schedules[0].formats[1]", "unknown format \"pdf\"");
  expect_rejected(one("name: m\n      " + valid + "\n      formats: [csv, csv]"),
                  "reports.schedules[0].formats[1]", "duplicate \"csv\"");
  expect_rejected(one("name: m\n      " + valid + "\n      formats: []"),
                  "reports.schedules[0].formats", "empty list");
  expect_rejected(one("name: m\n      " + valid + "\n      formats: csv"),
                  "reports.schedules[0].formats", "want a list of formats");
  expect_rejected(one("name: m\n      " + valid + "\n      fromats: [csv]"),
                  "reports.schedules[0].fromats", "did you mean formats?");
  expect_rejected(reports_yaml("  schedules:\n    - name: m\n      " + valid +
                               "\n    - name: m\n      " + valid + "\n"),
                  "reports.schedules[1].name", "duplicate schedule name \"m\"");
  expect_rejected(reports_yaml("  schedules:\n    - monthly\n"), "reports.schedules[0]",
                  "want a mapping");
  expect_rejected(reports_yaml("  schedules: monthly\n"), "reports.schedules", "want a list");
}

TEST(ConfigReports, OutputDirAndKeep) {
  expect_rejected(reports_yaml("  output_dir: reports\n"), "reports.output_dir",
                  "want an absolute directory path");
  expect_rejected(reports_yaml("  output_dir: \"\"\n"), "reports.output_dir", "absolute");
  expect_rejected(reports_yaml("  keep: 0\n"), "reports.keep", "from 1 to 100000");
  expect_rejected(reports_yaml("  keep: all\n"), "reports.keep", "integer");
  EXPECT_EQ(
      parse_config(reports_yaml("  output_dir: /a/./b/../c\n"), token_env()).reports.output_dir,
      "/a/c");
}

// --- the shipped example -------------------------------------------------------------------

std::filesystem::path example_config_path() {
  if (const char* source_dir = std::getenv("SUE_SOURCE_DIR")) {
    return std::filesystem::path(source_dir) / "etc/scalr-usage-exporter.yml";
  }
  return std::filesystem::path(__FILE__).parent_path() / "../../etc/scalr-usage-exporter.yml";
}

std::string read_example() {
  std::ifstream file(example_config_path());
  EXPECT_TRUE(file) << "cannot open " << example_config_path();
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
  return text;
}

// Every optional setting in the example must equal the built-in default it documents.
void expect_documented_defaults(const Config& config) {
  const Config defaults;
  const ScalrTarget target_defaults;
  EXPECT_EQ(config.web.listen_address, defaults.web.listen_address);
  EXPECT_EQ(config.web.telemetry_path, defaults.web.telemetry_path);
  EXPECT_EQ(config.web.max_connections, defaults.web.max_connections);
  EXPECT_EQ(source_of(config), source_of(defaults));
  EXPECT_EQ(config.poll.interval, defaults.poll.interval);
  const ScalrTarget& target = only_target(config);
  EXPECT_EQ(target.url, "https://example.scalr.io");
  EXPECT_EQ(target.accounts.size(), 1u);
  EXPECT_EQ(target.prefer_profile, target_defaults.prefer_profile);
  EXPECT_EQ(target.page_size, target_defaults.page_size);
  EXPECT_EQ(target.timeout, target_defaults.timeout);
  EXPECT_EQ(target.max_response_bytes, target_defaults.max_response_bytes);
  EXPECT_EQ(target.max_pages, target_defaults.max_pages);
  EXPECT_EQ(target.max_label_length, target_defaults.max_label_length);
  EXPECT_EQ(target.retry.max_attempts, target_defaults.retry.max_attempts);
  EXPECT_EQ(target.retry.initial_backoff, target_defaults.retry.initial_backoff);
  EXPECT_EQ(target.retry.max_backoff, target_defaults.retry.max_backoff);
  EXPECT_EQ(config.poll.shard, PollConfig{}.shard);
  EXPECT_EQ(target.max_concurrency, target_defaults.max_concurrency);
  EXPECT_EQ(target.max_requests_per_second, target_defaults.max_requests_per_second);
  EXPECT_EQ(target.enrich_workspaces, target_defaults.enrich_workspaces);
  EXPECT_EQ(target.enrich_interval, target_defaults.enrich_interval);
  EXPECT_EQ(target.name, "default");
  const BillingPlan billing_defaults;
  EXPECT_EQ(config.billing.included_runs, billing_defaults.included_runs);
  EXPECT_EQ(config.billing.overage_price, billing_defaults.overage_price);
  EXPECT_EQ(config.billing.currency, billing_defaults.currency);
  const ReportsConfig reports_defaults;
  EXPECT_EQ(config.reports.output_dir, reports_defaults.output_dir);
  EXPECT_EQ(config.reports.keep, reports_defaults.keep);
}

TEST(ConfigExample, ShippedExampleParses) {
  const TempDir dir;
  const auto token = dir.write("token", std::string(kToken) + "\n");
  const std::string example = read_example();
  ASSERT_THAT(example, HasSubstr("token_file: /etc/scalr-usage-exporter/token\n"));
  const Config config =
      parse_config(replace_all(example, "/etc/scalr-usage-exporter/token", token.string()), {});
  expect_documented_defaults(config);
  EXPECT_EQ(only_target(config).token.reveal(), kToken);
  EXPECT_EQ(only_target(config).ca_file, "");
}

TEST(ConfigExample, ShippedExampleWithTokenFromEnvironment) {
  const std::string example = read_example();
  const Config config = parse_config(
      replace_all(example, "  token_file: /etc/scalr-usage-exporter/token\n", ""), token_env());
  EXPECT_EQ(only_target(config).token_origin, "env SCALR_TOKEN");
  expect_documented_defaults(config);
}

// Uncommenting every commented-out key (`# key: value`) must still parse and change nothing but
// ca_file: this proves each documented key exists and its documented default is the real one.
TEST(ConfigExample, EveryDocumentedKeyIsRealAndShowsItsDefault) {
  const TempDir dir;
  const auto ca = dir.write("ca.pem", "pem");
  std::string example = replace_all(read_example(), "/etc/scalr-usage-exporter/token",
                                    dir.write("token", kToken).string());
  example = replace_all(example, "/etc/ssl/certs/corporate-ca.pem", ca.string());
  example = replace_all(example, "/etc/scalr-usage-exporter/leader.dsn",
                        dir.write("leader.dsn", "host=db\n").string());
  example = replace_all(example, "/etc/scalr-usage-exporter/webhook-url",
                        dir.write("webhook-url", "https://hooks.example.com/T/B/x\n").string());
  example = replace_all(example, "/etc/scalr-usage-exporter/smtp-password",
                        dir.write("smtp-password", "smtp-pw\n").string());
  // A key may be the first of a list item ("- name: monthly").
  const std::regex commented_key(R"(^( *)# ( *)((- )?[a-z_]+:( .*)?)$)");
  std::istringstream lines(example);
  std::string uncommented;
  int keys_uncommented = 0;
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_match(line, match, commented_key)) {
      line = match[1].str() + match[2].str() + match[3].str();
      ++keys_uncommented;
    }
    uncommented += line + "\n";
  }
  EXPECT_EQ(keys_uncommented, 69) << uncommented;
  const Config config = parse_config(uncommented, {});
  expect_documented_defaults(config);
  EXPECT_EQ(only_target(config).ca_file, ca.string());
  // The example schedule is the one the README describes.
  ASSERT_EQ(config.reports.schedules.size(), 1u);
  const ReportSchedule& schedule = config.reports.schedules[0];
  EXPECT_EQ(schedule.name, "monthly");
  EXPECT_EQ(schedule.cron.text(), "0 6 1 * *");
  EXPECT_EQ(schedule.period, PeriodKind::previous_month);
  EXPECT_EQ(schedule.formats, (std::vector<std::string>{"csv", "json", "html", "focus"}));
  ASSERT_TRUE(config.reports.leader_election);
  EXPECT_EQ(config.reports.leader_election->lock_key, LeaderElectionConfig{}.lock_key);
  // The example webhook, with the documented defaults.
  ASSERT_EQ(config.delivery.schedules.size(), 1u);
  const auto& webhook = std::get<WebhookConfig>(config.delivery.schedules[0].channels.at(0));
  EXPECT_EQ(webhook.format, WebhookSection{}.format);
  EXPECT_EQ(webhook.timeout, WebhookSection{}.timeout);
  EXPECT_EQ(config.delivery.retry_for, DeliveryConfig{}.retry_for);
  EXPECT_EQ(config.reports.leader_election->dsn.reveal(), "host=db");
  // The example email: goes through the example relay, with the documented defaults; it is the
  // schedule's second channel, in table order.
  const auto& channels = config.delivery.channels_of("monthly");
  ASSERT_EQ(channels.size(), 2u);
  const EmailConfig& email = std::get<EmailConfig>(channels[1]);
  EXPECT_EQ(email.to, (std::vector<MailAddress>{{"", "finance@example.com"}}));
  EXPECT_EQ(email.subject, kDefaultEmailSubject);
  EXPECT_EQ(email.attach, (std::vector<std::string>{"csv", "json", "focus"}));
  const std::optional<SmtpConfig>& smtp =
      std::get<std::optional<SmtpConfig>>(config.delivery.shared);
  ASSERT_TRUE(smtp);
  EXPECT_EQ(smtp->url, "smtp://mail.example.com:587");
  EXPECT_EQ(smtp->require_tls, SmtpConfig{}.require_tls);
  EXPECT_EQ(smtp->timeout, SmtpConfig{}.timeout);
  EXPECT_EQ(smtp->password.reveal(), "smtp-pw");
  EXPECT_EQ(smtp->ca_file, ca.string());
  // The example chargeback section is the README's, and works: a prod-* environment pays.
  EXPECT_EQ(config.chargeback.labels(), (std::vector<std::string>{"team", "cost_center"}));
  WorkspaceUsage workspace{"ws-1", "api", "env-1", "prod-eu", {}};
  EXPECT_EQ(config.chargeback.classify("acc-1", workspace),
            (std::vector<std::string>{"payments", "CC-100"}));
}

// The commented-out postgres: block is a working configuration once uncommented and selected, and
// shows the defaults it does not override.
TEST(ConfigExample, ShippedPostgresExampleWorks) {
  std::string example = replace_all(read_example(), "# source: scalr_api\n", "source: postgres\n");
  const std::regex commented_key(R"(^# ( *)([a-z_]+:( .*)?)$)");
  std::istringstream lines(example);
  std::string uncommented;
  bool in_postgres = false;
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (line == "# postgres:") in_postgres = true;
    if (line.empty()) in_postgres = false;
    if (in_postgres && std::regex_match(line, match, commented_key)) {
      line = match[1].str() + match[2].str();
    }
    uncommented += line + "\n";
  }
  const Config config = parse_config(uncommented, {});
  const PostgresConfig& postgres = only_postgres(config);
  const PostgresConfig defaults;
  EXPECT_EQ(postgres.dsn.reveal(), "host=127.0.0.1 port=5432 dbname=scalr user=exporter");
  EXPECT_TRUE(postgres.accounts.empty());
  EXPECT_EQ(postgres.query, defaults.query);
  EXPECT_EQ(postgres.statement_timeout, defaults.statement_timeout);
  EXPECT_EQ(postgres.max_label_length, defaults.max_label_length);
  EXPECT_FALSE(is_api(config));
}

}  // namespace
}  // namespace scalr_usage
