// Unit tests of the PostgreSQL source's pieces that need no server: DSN redaction and scrubbing,
// the connection string it connects with, value and column checks, the SQL it sends, and its
// behaviour when the server cannot be reached. tests/integration/test_postgres.py runs the rest
// against a real PostgreSQL.

#include "collectors/postgres/postgres_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <stop_token>

#include "collectors/postgres/queries.h"
#include "collectors/postgres/rows.h"
#include "pq/dsn.h"

namespace scalr_usage {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kSecret = "pg-SECRET-55";

// --- redact_dsn --------------------------------------------------------------------------------

struct RedactCase {
  const char* dsn;
  const char* redacted;
};

class RedactDsn : public ::testing::TestWithParam<RedactCase> {};

TEST_P(RedactDsn, BlanksEveryPassword) {
  EXPECT_EQ(redact_dsn(GetParam().dsn), GetParam().redacted);
}

INSTANTIATE_TEST_SUITE_P(
    KeyValue, RedactDsn,
    ::testing::Values(
        RedactCase{"host=db user=x dbname=scalr", "host=db user=x dbname=scalr"},
        RedactCase{"host=db password=s3cret user=x", "host=db password=xxxxx user=x"},
        RedactCase{"password=s3cret", "password=xxxxx"},
        RedactCase{"host=db password = 's3 cret\\'s' user=x", "host=db password = xxxxx user=x"},
        // libpq does not double quotes; the rest no longer parses, so it is cut.
        RedactCase{"host=db password='it''s' user=x", "host=db password=xxxxx"},
        RedactCase{"host=db password=a\\ b user=x", "host=db password=xxxxx user=x"},
        RedactCase{"host=db\n  password=s3cret\n  user=x", "host=db\n  password=xxxxx\n  user=x"},
        RedactCase{"PASSWORD=s3cret host=db", "PASSWORD=xxxxx host=db"},
        RedactCase{"password=one host=db password=two", "password=xxxxx host=db password=xxxxx"},
        RedactCase{"host=db passwordx=1 passfile=/p", "host=db passwordx=1 passfile=/p"},
        RedactCase{"host=db password=", "host=db password=xxxxx"},
        // Malformed: everything after the first "password" may be one.
        RedactCase{"host='db password=s3cret", "host='db password=xxxxx"},
        RedactCase{"host=db password s3cret", "host=db password=xxxxx"},
        RedactCase{"host=db garbage", "host=db garbage"}));

INSTANTIATE_TEST_SUITE_P(
    Uri, RedactDsn,
    ::testing::Values(
        RedactCase{"postgresql://db/scalr", "postgresql://db/scalr"},
        RedactCase{"postgresql://user@db/scalr", "postgresql://user@db/scalr"},
        RedactCase{"postgresql://user:s3cret@db:5432/scalr",
                   "postgresql://user:xxxxx@db:5432/scalr"},
        RedactCase{"postgres://user:s%40cret@db/scalr?sslmode=require&password=other",
                   "postgres://user:xxxxx@db/scalr?sslmode=require&password=xxxxx"},
        RedactCase{"postgresql://db/scalr?password=s3cret&user=x",
                   "postgresql://db/scalr?password=xxxxx&user=x"},
        RedactCase{"postgresql://db/scalr?pass%77ord=s3cret",
                   "postgresql://db/scalr?pass%77ord=xxxxx"},
        RedactCase{"postgresql://user:p@ss@db/scalr", "postgresql://user:xxxxx@db/scalr"},
        RedactCase{"postgresql://user:p?ss@db/scalr", "postgresql://user:xxxxx@db/scalr"},
        RedactCase{"postgresql://user:p/ss@db/scalr", "postgresql://user:xxxxx@db/scalr"},
        RedactCase{"postgresql://u:pw@h1:1,h2:2/db", "postgresql://u:xxxxx@h1:1,h2:2/db"},
        RedactCase{"  PostgreSQL://u:pw@h/db", "  PostgreSQL://u:xxxxx@h/db"},
        RedactCase{"postgresql://u:@h/db", "postgresql://u:@h/db"}));

// --- DsnScrubber -------------------------------------------------------------------------------

TEST(DsnScrubber, RemovesEverySpellingOfThePassword) {
  const DsnScrubber scrub("host=db password='pw with \\'quote' user=x");
  EXPECT_EQ(scrub("a pw with 'quote b 'pw with \\'quote' c"), "a xxxxx b xxxxx c");
}

TEST(DsnScrubber, PercentDecodedAndRawUriPasswords) {
  const DsnScrubber scrub("postgresql://u:p%40ss%20w@h/db");
  EXPECT_EQ(scrub("p@ss w / p%40ss%20w"), "xxxxx / xxxxx");
}

TEST(DsnScrubber, PasswordWithARawAtSign) {
  // libpq stops the user info at the first '@': the rest of the password becomes the host name.
  const DsnScrubber scrub(std::string("postgresql://u:pw@") + kSecret + "@host/db");
  const std::string message = scrub(std::string("could not translate host name \"") + kSecret +
                                    "@host\" to address: Name or service not known");
  EXPECT_THAT(message, Not(HasSubstr(kSecret)));
  EXPECT_THAT(message, StartsWith("could not translate host name"));
}

TEST(DsnScrubber, MalformedDsnHidesWhatFollowsPassword) {
  const DsnScrubber scrub(std::string("host='db password=") + kSecret);
  EXPECT_THAT(scrub(std::string("value ") + kSecret + " here"), Not(HasSubstr(kSecret)));
}

TEST(DsnScrubber, WithoutPasswordNothingChanges) {
  EXPECT_EQ(DsnScrubber("host=db user=x")("host=db user=x failed"), "host=db user=x failed");
  EXPECT_EQ(DsnScrubber()("anything"), "anything");
}

// --- parse_dsn and effective_conninfo -----------------------------------------------------------

std::string option(const DsnOptions& options, const std::string& keyword) {
  const auto found = std::find_if(options.begin(), options.end(),
                                  [&](const auto& entry) { return entry.first == keyword; });
  return found == options.end() ? "<unset>" : found->second;
}

TEST(ParseDsn, BothForms) {
  const DsnOptions key_value = parse_dsn("host=db port=5433 password='a b\\'c'");
  EXPECT_EQ(option(key_value, "host"), "db");
  EXPECT_EQ(option(key_value, "port"), "5433");
  EXPECT_EQ(option(key_value, "password"), "a b'c");
  EXPECT_EQ(option(key_value, "user"), "<unset>");
  const DsnOptions uri = parse_dsn("postgresql://u:p%27w@db:5434/scalr?sslmode=require");
  EXPECT_EQ(option(uri, "user"), "u");
  EXPECT_EQ(option(uri, "password"), "p'w");
  EXPECT_EQ(option(uri, "port"), "5434");
  EXPECT_EQ(option(uri, "dbname"), "scalr");
  EXPECT_EQ(option(uri, "sslmode"), "require");
}

TEST(ParseDsn, ErrorsAreLibpqsWithoutThePassword) {
  try {
    parse_dsn(std::string("password=") + kSecret + " nonsense");
    FAIL() << "accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_THAT(error.what(), HasSubstr("missing \"=\" after \"nonsense\""));
    EXPECT_THAT(error.what(), Not(HasSubstr(kSecret)));
    EXPECT_THAT(error.what(), Not(EndsWith("\n")));
  }
  EXPECT_THROW(parse_dsn("nosuchoption=1"), std::invalid_argument);
}

TEST(EffectiveConninfo, AddsThePollerDefaultsOnlyWhereUnset) {
  const DsnOptions defaults = parse_dsn(effective_conninfo("host=db"));
  EXPECT_EQ(option(defaults, "host"), "db");
  EXPECT_EQ(option(defaults, "connect_timeout"), "10");
  EXPECT_EQ(option(defaults, "keepalives_idle"), "30");
  EXPECT_EQ(option(defaults, "keepalives_interval"), "10");
  EXPECT_EQ(option(defaults, "keepalives_count"), "3");
  EXPECT_EQ(option(defaults, "fallback_application_name"), "scalr-usage-exporter");
  const DsnOptions own =
      parse_dsn(effective_conninfo("host=db connect_timeout=3 keepalives_idle=5"));
  EXPECT_EQ(option(own, "connect_timeout"), "3");
  EXPECT_EQ(option(own, "keepalives_idle"), "5");
}

TEST(EffectiveConninfo, KeepsEverySettingOfEitherForm) {
  for (const char* dsn : {"postgresql://u:p%27w%5C@db1:5434,db2:5435/scalr?sslmode=require",
                          "host=db1,db2 port=5434,5435 user=u password='p\\'w\\\\' dbname=scalr "
                          "sslmode=require"}) {
    const DsnOptions original = parse_dsn(dsn);
    const DsnOptions effective = parse_dsn(effective_conninfo(dsn));
    for (const auto& [keyword, value] : original) {
      EXPECT_EQ(option(effective, keyword), value) << dsn << " " << keyword;
    }
    EXPECT_EQ(option(effective, "password"), "p'w\\");
  }
}

// --- values and columns ------------------------------------------------------------------------

TEST(ParseWholeNumber, IntegersAndNumericsWithoutFraction) {
  EXPECT_EQ(parse_whole_number("0"), 0u);
  EXPECT_EQ(parse_whole_number("42"), 42u);
  EXPECT_EQ(parse_whole_number("42.000"), 42u);
  EXPECT_EQ(parse_whole_number("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  for (const char* bad : {"", "-1", "1.5", "0.0001", "18446744073709551616", "1e3", " 1", "1 ",
                          "+1", ".0", "NaN", "Infinity", "0x10", "1,5"}) {
    EXPECT_EQ(parse_whole_number(bad), std::nullopt) << bad;
  }
}

TEST(MissingColumns, NamesThemInTheDocumentedOrder) {
  std::vector<std::string> all(postgres_sql::kRequiredColumns.begin(),
                               postgres_sql::kRequiredColumns.end());
  EXPECT_TRUE(missing_columns(all).empty());
  all.push_back("extra");
  EXPECT_TRUE(missing_columns(all).empty());
  const std::vector<std::string> some = {
      "runs_count", "date", "account_id", "environment_id", "environment_name", "workspace_id"};
  EXPECT_EQ(missing_columns(some), (std::vector<std::string>{"workspace_name", "runs_seconds"}));
}

// --- the optional columns ----------------------------------------------------------------------

std::vector<std::string> required_columns() {
  return {postgres_sql::kRequiredColumns.begin(), postgres_sql::kRequiredColumns.end()};
}

constexpr std::uint32_t kTextArray = 1009;  // pg_type OIDs
constexpr std::uint32_t kVarcharArray = 1015;
constexpr std::uint32_t kText = 25;
constexpr std::uint32_t kJsonb = 3802;

TEST(ColumnProblem, TheOptionalColumnsMayBeAbsentOrPresent) {
  std::vector<std::string> names = required_columns();
  EXPECT_EQ(column_problem(names, std::nullopt), std::nullopt);
  names.push_back("account_name");
  EXPECT_EQ(column_problem(names, std::nullopt), std::nullopt);
  names.push_back("workspace_tags");
  EXPECT_EQ(column_problem(names, kTextArray), std::nullopt);
  EXPECT_EQ(column_problem(names, kVarcharArray), std::nullopt);
}

TEST(ColumnProblem, MissingRequiredColumnsAreNamedFirst) {
  std::vector<std::string> names = {"account_id", "account_name", "workspace_tags"};
  EXPECT_THAT(column_problem(names, kText).value_or(""),
              StartsWith("postgres.query: missing column(s) environment_id, environment_name, "
                         "workspace_id, workspace_name, date, runs_count, runs_seconds (the query "
                         "must return account_id, "));
}

TEST(ColumnProblem, WorkspaceTagsOfAnotherTypeIsRejectedByName) {
  std::vector<std::string> names = required_columns();
  names.push_back("workspace_tags");
  EXPECT_EQ(column_problem(names, kText),
            "postgres.query: column workspace_tags is text, want an array of tag names (text[]; "
            "cast with ::text[])");
  EXPECT_THAT(column_problem(names, kJsonb).value_or(""),
              HasSubstr("column workspace_tags is jsonb, want"));
  EXPECT_THAT(column_problem(names, 1007).value_or(""),  // int4[]
              HasSubstr("column workspace_tags is the type with OID 1007, want"));
}

TEST(ColumnProblem, AnOptionalColumnTwiceIsAnError) {
  for (const std::string_view optional : postgres_sql::kOptionalColumns) {
    std::vector<std::string> names = required_columns();
    names.emplace_back(optional);
    names.emplace_back(optional);
    EXPECT_EQ(column_problem(names, kTextArray),
              "postgres.query: column " + std::string(optional) + " appears 2 times");
  }
}

TEST(ParseTagArray, PostgresArrayTextBecomesSortedUniqueNames) {
  using Tags = std::vector<std::string>;
  EXPECT_EQ(parse_tag_array("{}"), Tags{});
  EXPECT_EQ(parse_tag_array("{team:payments,cost-center:CC-100}"),
            (Tags{"cost-center:CC-100", "team:payments"}));
  // Quoted elements as PostgreSQL prints them: spaces, commas, braces, quotes, backslashes.
  EXPECT_EQ(parse_tag_array(R"({"b c","x,y","{z}","q\"uote","back\\slash"})"),
            (Tags{"b c", "back\\slash", "q\"uote", "x,y", "{z}"}));
  // NULL elements and empty strings are no tag names; duplicates count once.
  EXPECT_EQ(parse_tag_array(R"({NULL,"",a,a,"NULL"})"), (Tags{"NULL", "a"}));
  EXPECT_EQ(parse_tag_array("{prod-\xc3\xbc-\xe6\x97\xa5}"), (Tags{"prod-\xc3\xbc-\xe6\x97\xa5"}));
  EXPECT_EQ(parse_tag_array("{{a,b},{c,d}}"), std::nullopt);  // two dimensions
  EXPECT_EQ(parse_tag_array("{{}}"), std::nullopt);
}

TEST(Queries, DefaultQueryReturnsTheRequiredColumnsForThePeriod) {
  const std::string query(postgres_sql::kDefaultQuery);
  for (const std::string_view column : postgres_sql::kRequiredColumns) {
    EXPECT_THAT(query, HasSubstr(std::string(column))) << column;
  }
  for (const std::string_view column : postgres_sql::kOptionalColumns) {
    EXPECT_THAT(query, HasSubstr(" AS " + std::string(column))) << column;
  }
  EXPECT_THAT(query, HasSubstr("finished_at >= $1 AND finished_at < $2"));
}

TEST(Queries, TheQueryIsWrappedSoBothParametersAreTimestamptz) {
  const std::string wrapped = postgres_sql::wrapped("SELECT 1 -- a comment");
  EXPECT_THAT(wrapped, HasSubstr("$1::timestamptz"));
  EXPECT_THAT(wrapped, HasSubstr("$2::timestamptz"));
  // The user's query sits on lines of its own, so a trailing comment cannot hide the ')'.
  EXPECT_THAT(wrapped, HasSubstr("(\nSELECT 1 -- a comment\n)"));
  EXPECT_THAT(postgres_sql::column_check("SELECT 1"), EndsWith(" LIMIT 0"));
}

// --- without a server --------------------------------------------------------------------------

PostgresConfig unreachable_config() {
  PostgresConfig config;
  // Port 1 on loopback refuses at once.
  config.dsn = Secret(std::string("host=127.0.0.1 port=1 dbname=x user=x password=") + kSecret);
  config.dsn_origin = "postgres.dsn";
  config.accounts = {"acc-1", "acc-2"};
  return config;
}

TEST(PostgresSource, ConstructionDoesNotConnect) {
  const auto started = std::chrono::steady_clock::now();
  PostgresSource source(unreachable_config());
  EXPECT_EQ(source.configured_accounts(), (std::vector<std::string>{"acc-1", "acc-2"}));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{1});
}

TEST(PostgresSource, UnreachableServerIsADatabaseErrorWithoutThePassword) {
  PostgresSource source(unreachable_config());
  const Period period = month_containing(std::chrono::floor<std::chrono::seconds>(Clock::now()));
  for (int attempt = 0; attempt < 2; ++attempt) {  // and again: nothing is left half-connected
    try {
      source.accounts(period, {});
      FAIL() << "no error";
    } catch (const SourceError& error) {
      EXPECT_EQ(error.reason(), ErrorReason::database);
      EXPECT_THAT(error.what(), StartsWith("cannot connect to PostgreSQL: "));
      EXPECT_THAT(error.what(), HasSubstr("127.0.0.1"));
      EXPECT_THAT(error.what(), Not(HasSubstr(kSecret)));
      EXPECT_THAT(error.what(), Not(HasSubstr("\n")));
    }
  }
  EXPECT_THROW(source.check_query({}), SourceError);
}

TEST(PostgresSource, StopRequestedMeansCancelledWithoutTryingToConnect) {
  PostgresSource source(unreachable_config());
  std::stop_source stop;
  stop.request_stop();
  const Period period = month_containing(std::chrono::floor<std::chrono::seconds>(Clock::now()));
  try {
    source.accounts(period, stop.get_token());
    FAIL() << "no error";
  } catch (const SourceError& error) {
    EXPECT_EQ(error.reason(), ErrorReason::cancelled);
  }
  try {
    source.fetch("acc-1", period, stop.get_token());
    FAIL() << "no error";
  } catch (const SourceError& error) {
    EXPECT_EQ(error.reason(), ErrorReason::cancelled);
  }
}

}  // namespace
}  // namespace scalr_usage
