// libFuzzer target: parse_config() on any YAML text. It may only fail with ConfigError, whose
// message is one line and never shows a secret (token or DSN password) that the input did not
// itself contain; a config it accepts must satisfy the invariants the daemon relies on.
//
// parse_config() reads files: scalr.token_file, scalr.ca_file, postgres.dsn_file, and the
// token_credential/dsn_credential files under $CREDENTIALS_DIRECTORY. A fuzzer must not read
// whatever path it invents (/dev/stdin, a FIFO or /proc/kmsg would block it; a big file would
// only be read up to 64 KiB, but still), so this target is linked with -Wl,--wrap=fopen: while a
// parse runs, fopen() opens only files under the virtual directory /fuzz, which maps to a
// sandbox of small fixture files made at start-up, and fails with ENOENT for any other path.

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/address.h"
#include "daemon/config_file.h"
#include "fuzz/fuzz_check.h"

extern "C" std::FILE* __real_fopen(const char* path, const char* mode);
extern "C" std::FILE* __wrap_fopen(const char* path, const char* mode);

namespace {

namespace fs = std::filesystem;
using scalr_usage::Config;
using scalr_usage::ConfigError;
using scalr_usage::Environment;

constexpr std::string_view kVirtualRoot = "/fuzz";
// Every fixture is tiny; no parse needs more opens than the keys that name files.
constexpr int kMaxOpensPerParse = 8;

// The fixtures' secrets. None may appear in an error message unless the input wrote it.
constexpr std::string_view kFileToken = "fuzz-file-token-9f3a7c1e5b";
constexpr std::string_view kCredentialToken = "fuzz-credential-token-2e8d";
constexpr std::string_view kEnvToken = "fuzz-env-token-71c0e8";
constexpr std::string_view kFilePgPassword = "fuzz-file-pg-secret-4d2b";
constexpr std::string_view kCredentialPgPassword = "fuzz-credential-pg-secret-9c31";
constexpr std::string_view kEnvPgPassword = "fuzz-env-pg-secret-a55e";
constexpr std::string_view kSecrets[] = {kFileToken,      kCredentialToken,      kEnvToken,
                                         kFilePgPassword, kCredentialPgPassword, kEnvPgPassword};

fs::path g_sandbox;
bool g_parsing = false;
int g_opens = 0;

void write_file(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) {
    std::fprintf(stderr, "fuzz_config: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// The files a config can name, all under /fuzz: good and bad tokens, DSNs and CA bundles, an
// empty file, one over the 64 KiB secret limit, and a directory.
void make_sandbox() {
  std::string pattern = (fs::temp_directory_path() / "sue-fuzz-config.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("fuzz_config: mkdtemp");
    std::abort();
  }
  g_sandbox = pattern;
  fs::create_directories(g_sandbox / "credentials");
  fs::create_directories(g_sandbox / "dir");
  write_file(g_sandbox / "token", std::string(kFileToken) + "\n");
  write_file(g_sandbox / "token-crlf", std::string(kFileToken) + "\r\n");
  write_file(g_sandbox / "token-spaces", "two words\n");
  write_file(g_sandbox / "token-control", std::string("abc\x01") + "def\n");
  write_file(g_sandbox / "empty", "");
  write_file(g_sandbox / "big", std::string(70 * 1024, 'a'));
  write_file(g_sandbox / "pg.dsn", "host=127.0.0.1 port=5432 dbname=scalr user=exporter password=" +
                                       std::string(kFilePgPassword) + "\n");
  write_file(g_sandbox / "pg-bad.dsn",
             "host='unterminated password=" + std::string(kFilePgPassword) + " user=x\n");
  write_file(g_sandbox / "pg-uri.dsn", "postgresql://exporter:" + std::string(kFilePgPassword) +
                                           "@db.example:5432/scalr?sslmode=require\n");
  write_file(g_sandbox / "ca.pem",
             "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n");
  write_file(g_sandbox / "credentials" / "scalr_token", std::string(kCredentialToken) + "\n");
  write_file(g_sandbox / "credentials" / "pg_dsn",
             "host=db user=exporter password='" + std::string(kCredentialPgPassword) + "'\n");
}

void remove_sandbox() {
  std::error_code ignored;
  if (!g_sandbox.empty()) fs::remove_all(g_sandbox, ignored);
}

// The environment the daemon would have under systemd with every secret source available, and
// an empty one, so both the "from the environment" and the "not set" branches run.
const Environment& full_environment() {
  static const Environment env = {
      {"SCALR_TOKEN", std::string(kEnvToken)},
      {"SCALR_USAGE_PG_DSN",
       "postgresql://exporter:" + std::string(kEnvPgPassword) + "@127.0.0.1:5432/scalr"},
      {"CREDENTIALS_DIRECTORY", std::string(kVirtualRoot) + "/credentials"},
  };
  return env;
}

bool has_line_break(std::string_view text) { return text.find_first_of("\r\n") != text.npos; }

void check_error(const ConfigError& error, std::string_view input) {
  const std::string_view message = error.what();
  FUZZ_CHECK(!message.empty(), "empty message");
  FUZZ_CHECK(!has_line_break(message), message);
  for (const std::string_view secret : kSecrets) {
    // An input that spells the secret itself (perhaps with YAML escapes, hence only its tail) may
    // see it quoted back.
    if (input.find(secret.substr(secret.size() - 4)) != input.npos) continue;
    FUZZ_CHECK(message.find(secret) == message.npos, message);
  }
}

void check_config(const Config& config) {
  const std::string source(scalr_usage::source_name(config.source));
  FUZZ_CHECK(source == "scalr_api" || source == "postgres", source);
  scalr_usage::validate_listen_address(config.web.listen_address);  // throws: a crash
  FUZZ_CHECK(config.reports.output_dir.is_absolute(), config.reports.output_dir.string());
  FUZZ_CHECK(config.reports.keep >= 1, "keep below 1");
  FUZZ_CHECK(config.poll.interval >= std::chrono::seconds{1}, "poll interval below 1s");
  for (std::size_t i = 0; i < config.reports.schedules.size(); ++i) {
    const auto& schedule = config.reports.schedules[i];
    FUZZ_CHECK(!schedule.name.empty() && schedule.name.size() <= 64, schedule.name);
    FUZZ_CHECK(scalr_usage::CronExpression::parse(schedule.cron.text()) == schedule.cron,
               schedule.cron.text());
    for (std::size_t j = 0; j < i; ++j) {
      FUZZ_CHECK(config.reports.schedules[j].name != schedule.name, schedule.name);
    }
  }
  if (const auto* postgres = std::get_if<scalr_usage::PostgresConfig>(&config.source)) {
    FUZZ_CHECK(source == "postgres", "postgres source");
    FUZZ_CHECK(!postgres->dsn.empty(), "empty DSN");
    return;
  }
  const auto& targets = std::get<scalr_usage::ScalrApiConfig>(config.source).targets;
  FUZZ_CHECK(targets.size() == 1 && source == "scalr_api", "scalr_api source");
  const scalr_usage::ScalrTarget& target = targets.front();
  FUZZ_CHECK(!target.url.empty() && target.url.back() != '/', target.url);
  FUZZ_CHECK(!target.accounts.empty(), "no accounts");
  FUZZ_CHECK(!target.token.empty(), "empty token");
  for (const char c : target.token.reveal()) {
    const auto byte = static_cast<unsigned char>(c);
    FUZZ_CHECK(byte > 0x20 && byte < 0x7f, "token with a space or control character");
  }
  FUZZ_CHECK(target.retry.initial_backoff <= target.retry.max_backoff, "backoff order");
  FUZZ_CHECK(target.page_size >= 1 && target.page_size <= 1000, "page_size");
  FUZZ_CHECK(target.max_pages >= 1 && target.retry.max_attempts >= 1, "limits");
}

void parse_once(const std::string& yaml, const Environment& env) {
  g_opens = 0;
  g_parsing = true;
  try {
    const Config config = scalr_usage::parse_config(yaml, env);
    g_parsing = false;
    check_config(config);
  } catch (const ConfigError& error) {
    g_parsing = false;
    check_error(error, yaml);
  }
  // Any other exception escapes and libFuzzer reports it as a crash.
  g_parsing = false;
}

}  // namespace

// Outside a parse (the sandbox set-up) fopen is the real one, and so is every open for writing:
// libFuzzer writes its crash and timeout files with fopen, from a signal handler that may
// interrupt a parse. parse_config() itself only reads.
extern "C" std::FILE* __wrap_fopen(const char* path, const char* mode) {
  const std::string_view how(mode);
  if (!g_parsing || how.find_first_of("wa+") != how.npos) return __real_fopen(path, mode);
  const std::string_view wanted(path);
  FUZZ_CHECK(++g_opens <= kMaxOpensPerParse, "too many files opened by one parse");
  const bool inside = wanted == kVirtualRoot ||
                      (wanted.starts_with(kVirtualRoot) && wanted[kVirtualRoot.size()] == '/' &&
                       wanted.find("..") == wanted.npos);
  if (!inside) {
    errno = ENOENT;
    return nullptr;
  }
  const std::string real = g_sandbox.string() + std::string(wanted.substr(kVirtualRoot.size()));
  return __real_fopen(real.c_str(), mode);
}

namespace {

// Proves the sandbox is in the path before fuzzing: a file under /fuzz is read, and the same file
// by its real path is not. Should parse_config() ever open files some other way than fopen()
// (std::ifstream, open()), the second check fails here, loudly, instead of the fuzzer silently
// reading the machine's files.
void check_sandbox() {
  const std::string head = "scalr: {url: 'https://x', accounts: [a], token_file: '";
  g_parsing = true;
  const Config config = scalr_usage::parse_config(head + "/fuzz/token'}", Environment{});
  g_parsing = false;
  FUZZ_CHECK(std::get<scalr_usage::ScalrApiConfig>(config.source).targets.at(0).token.reveal() ==
                 kFileToken,
             "sandbox token not read");
  bool refused = false;
  try {
    g_parsing = true;
    scalr_usage::parse_config(head + (g_sandbox / "token").string() + "'}", Environment{});
  } catch (const ConfigError&) {
    refused = true;
  }
  g_parsing = false;
  FUZZ_CHECK(refused, "parse_config read a file outside the sandbox");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  make_sandbox();
  std::atexit(remove_sandbox);
  check_sandbox();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  parse_once(yaml, full_environment());
  parse_once(yaml, Environment{});
  return 0;
}
