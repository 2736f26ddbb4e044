#include "collectors/scalr_api/jsonapi.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "collectors/source.h"

namespace scalr_usage {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using namespace std::chrono_literals;

// The example response of the API page, completed into valid JSON.
constexpr const char* kApiPageExample = R"({
    "data": [
        {
            "attributes": {
                "breakdown-id": null,
                "breakdown-name": null,
                "date": "2022-01-06",
                "runs-count": 4,
                "runs-seconds": 82
            },
            "id": "0209139b4a4f7068241f79e13e362a2bac0638aefc1fb2ea3caa136d0d47dca1",
            "links": null,
            "relationships": {
                "account": {
                    "data": {
                        "id": "acc-ttpu7uslju6igv8",
                        "type": "accounts"
                    }
                }
            },
            "type": "usage-statistics"
        }
    ],
    "included": null,
    "links": {
        "first": "",
        "last": "",
        "next": null,
        "prev": null,
        "self": ""
    },
    "meta": {
        "pagination": {
            "current-page": 1,
            "next-page": null,
            "prev-page": null,
            "total-count": 0,
            "total-pages": 1
        }
    }
})";

TEST(JsonApiParse, ApiPageExampleParses) {
  const UsagePage page = parse_usage_page(kApiPageExample);
  ASSERT_EQ(page.items.size(), 1u);
  const UsageItem& item = page.items[0];
  EXPECT_EQ(item.account_id, "acc-ttpu7uslju6igv8");
  EXPECT_EQ(item.breakdown_id, std::nullopt);
  EXPECT_EQ(item.breakdown_name, std::nullopt);
  EXPECT_EQ(item.date, std::chrono::year_month_day{2022y / 1 / 6});
  EXPECT_EQ(item.runs_count, 4u);
  EXPECT_EQ(item.runs_seconds, 82u);
  EXPECT_EQ(page.next_page, std::nullopt);
  EXPECT_EQ(page.total_pages, 1);
}

TEST(JsonApiParse, BreakdownRowAndNextPage) {
  const UsagePage page = parse_usage_page(R"({
    "data": [{"type": "usage-statistics", "id": "x",
              "attributes": {"breakdown-id": "ws-1", "breakdown-name": "network",
                             "date": null, "runs-count": 18446744073709551615,
                             "runs-seconds": 0},
              "relationships": {"account": {"data": {"id": "acc-1", "type": "accounts"}}}}],
    "meta": {"pagination": {"current-page": 2, "next-page": 3, "total-pages": 7}}})");
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].breakdown_id, "ws-1");
  EXPECT_EQ(page.items[0].breakdown_name, "network");
  EXPECT_EQ(page.items[0].date, std::nullopt);
  EXPECT_EQ(page.items[0].runs_count, 18446744073709551615u);
  EXPECT_EQ(page.next_page, 3);
  EXPECT_EQ(page.total_pages, 7);
}

TEST(JsonApiParse, NullsAndAbsentOptionalPartsAreTolerated) {
  const UsagePage page = parse_usage_page(R"({
    "data": [
      {"type": "usage-statistics", "links": null, "relationships": null,
       "attributes": {"breakdown-id": null, "breakdown-name": null, "date": null,
                      "runs-count": 1, "runs-seconds": 2}},
      {"type": "usage-statistics", "relationships": {"account": null},
       "attributes": {"runs-count": 3, "runs-seconds": 4}},
      {"type": "usage-statistics", "relationships": {"account": {"data": null}},
       "attributes": {"runs-count": 5, "runs-seconds": 6}}
    ],
    "included": null, "links": null,
    "meta": {"pagination": {"next-page": null, "total-pages": null}}})");
  ASSERT_EQ(page.items.size(), 3u);
  for (const auto& item : page.items) {
    EXPECT_EQ(item.account_id, "");
    EXPECT_EQ(item.breakdown_id, std::nullopt);
    EXPECT_EQ(item.date, std::nullopt);
  }
  EXPECT_EQ(page.items[2].runs_seconds, 6u);
  EXPECT_EQ(page.next_page, std::nullopt);
  EXPECT_EQ(page.total_pages, std::nullopt);
}

long peak_rss_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A page is read without building a DOM of it: 8 MiB (the default scalr.max_response_bytes) of
// tiny values under an unknown key took a DOM of ~310 MB; read as they come they take nothing.
TEST(JsonApiParse, LargeBodyOfTinyValuesIsReadWithoutADom) {
  std::string body = R"({"data": [], "links": [)";
  while (body.size() < (8u << 20)) body += "{},";
  body += R"({}], "meta": {"pagination": {"next-page": null}}})";
  const long before = peak_rss_kb();
  ASSERT_GT(before, 0);
  const UsagePage page = parse_usage_page(body);
  EXPECT_TRUE(page.items.empty());
  EXPECT_LT(peak_rss_kb() - before, 64 * 1024) << "kB of peak RSS for an 8 MiB body";
}

TEST(JsonApiParse, MissingPaginationMeansLastPage) {
  EXPECT_EQ(parse_usage_page(R"({"data": []})").next_page, std::nullopt);
  EXPECT_EQ(parse_usage_page(R"({"data": [], "meta": null})").next_page, std::nullopt);
  EXPECT_EQ(parse_usage_page(R"({"data": [], "meta": {}})").next_page, std::nullopt);
  EXPECT_EQ(parse_usage_page(R"({"data": [], "meta": {"pagination": null}})").next_page,
            std::nullopt);
}

void expect_rejected(const std::string& body, const std::string& message_part) {
  try {
    (void)parse_usage_page(body);
    ADD_FAILURE() << "accepted: " << body;
  } catch (const SourceError& e) {
    EXPECT_EQ(e.reason(), ErrorReason::bad_response);
    EXPECT_THAT(e.what(), HasSubstr(message_part)) << body;
  }
}

TEST(JsonApiParse, RejectsBodiesThatAreNotAJsonApiDocument) {
  expect_rejected("", "not valid JSON");
  expect_rejected("<html>502 Bad Gateway</html>", "not valid JSON");
  const std::string example = kApiPageExample;
  expect_rejected(example.substr(0, example.size() / 2), "not valid JSON");  // truncated
  expect_rejected("[]", "$: expected a JSON:API document");
  expect_rejected(R"({"errors": [{"status": "500"}]})", "data: missing, expected an array");
  expect_rejected(R"({"data": {"type": "usage-statistics"}})", "data: expected an array");
  expect_rejected(R"({"data": null})", "data: missing, expected an array");
  expect_rejected(R"({"data": [], "meta": []})", "meta: expected an object");
  expect_rejected(R"({"data": [], "meta": {"pagination": 1}})",
                  "meta.pagination: expected an object");
}

// Each case changes one value of a valid two-row page (by JSON pointer) and names the message.
struct Mutation {
  std::string name;
  std::string pointer;
  json value;
  std::string message;
};

// Keeps test listings (and ctest names) readable instead of a hex dump of the struct.
void PrintTo(const Mutation& mutation, std::ostream* out) { *out << mutation.name; }

class JsonApiRejects : public ::testing::TestWithParam<Mutation> {};

TEST_P(JsonApiRejects, NamesThePathThatIsWrong) {
  json document = json::parse(kApiPageExample);
  document["data"].push_back(document["data"][0]);
  document[json::json_pointer(GetParam().pointer)] = GetParam().value;
  expect_rejected(document.dump(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    JsonApi, JsonApiRejects,
    ::testing::Values(Mutation{"ItemNotObject", "/data/1", 7, "data[1]: expected an object, got 7"},
                      Mutation{"WrongType", "/data/1/type", "workspaces",
                               "data[1].type: expected \"usage-statistics\", got \"workspaces\""},
                      Mutation{"MissingType", "/data/0/type", nullptr, "data[0].type: expected"},
                      Mutation{"AttributesMissing", "/data/1/attributes", nullptr,
                               "data[1].attributes: missing, expected an object"},
                      Mutation{"AttributesNotObject", "/data/1/attributes", "x",
                               "data[1].attributes: expected an object"},
                      Mutation{"NegativeCount", "/data/1/attributes/runs-count", -1,
                               "data[1].attributes.runs-count: expected a non-negative integer"},
                      Mutation{"FractionalCount", "/data/1/attributes/runs-count", 1.5,
                               "data[1].attributes.runs-count: expected a non-negative integer"},
                      Mutation{"CountAsString", "/data/0/attributes/runs-count", "4",
                               "data[0].attributes.runs-count: expected a non-negative integer"},
                      Mutation{"CountNull", "/data/0/attributes/runs-count", nullptr,
                               "data[0].attributes.runs-count: missing"},
                      Mutation{"NegativeSeconds", "/data/1/attributes/runs-seconds", -82,
                               "data[1].attributes.runs-seconds: expected a non-negative integer"},
                      Mutation{"SecondsAsFloat", "/data/1/attributes/runs-seconds", 8.2e1,
                               "data[1].attributes.runs-seconds: expected a non-negative integer"},
                      Mutation{"ImpossibleDate", "/data/1/attributes/date", "2022-02-30",
                               "data[1].attributes.date: expected a YYYY-MM-DD date"},
                      Mutation{"DateTime", "/data/1/attributes/date", "2022-01-06T00:00:00Z",
                               "data[1].attributes.date: expected a YYYY-MM-DD date"},
                      Mutation{"DateNumber", "/data/1/attributes/date", 20220106,
                               "data[1].attributes.date: expected a string or null"},
                      Mutation{"BreakdownIdNumber", "/data/0/attributes/breakdown-id", 12,
                               "data[0].attributes.breakdown-id: expected a string or null"},
                      Mutation{"BreakdownNameObject", "/data/0/attributes/breakdown-name",
                               json::object(),
                               "data[0].attributes.breakdown-name: expected a string or null"},
                      Mutation{"RelationshipsNotObject", "/data/1/relationships", "acc",
                               "data[1].relationships: expected an object"},
                      Mutation{"AccountWrongType", "/data/1/relationships/account/data/type",
                               "users",
                               "data[1].relationships.account.data.type: expected \"accounts\""},
                      Mutation{"AccountIdMissing", "/data/1/relationships/account/data/id", nullptr,
                               "data[1].relationships.account.data.id: missing"},
                      Mutation{"NextPageString", "/meta/pagination/next-page", "2",
                               "meta.pagination.next-page: expected an integer >= 1 or null"},
                      Mutation{"NextPageZero", "/meta/pagination/next-page", 0,
                               "meta.pagination.next-page: expected an integer >= 1 or null"},
                      Mutation{"NextPageNegative", "/meta/pagination/next-page", -2,
                               "meta.pagination.next-page: expected an integer >= 1 or null"},
                      Mutation{"NextPageHuge", "/meta/pagination/next-page", 4294967296,
                               "meta.pagination.next-page: expected an integer >= 1 or null"},
                      Mutation{"TotalPagesFloat", "/meta/pagination/total-pages", 1.0,
                               "meta.pagination.total-pages: expected an integer >= 0 or null"}),
    [](const auto& info) { return info.param.name; });

TEST(JsonApiErrorSummary, JsonApiErrors) {
  EXPECT_EQ(error_summary(R"({"errors":[{"status":"404","title":"Not Found",
                              "detail":"Account 'acc-x' not found."}]})"),
            "404 Not Found: Account 'acc-x' not found.");
  EXPECT_EQ(error_summary(R"({"errors":[{"status":403,"title":"Forbidden"},
                                        {"detail":"Missing permission accounts:billing"}]})"),
            "403 Forbidden; Missing permission accounts:billing");
  EXPECT_EQ(error_summary(R"({"errors":[{"title":"Unauthorized","detail":"line1\nline2"}]})"),
            "Unauthorized: line1 line2");
}

TEST(JsonApiErrorSummary, OtherBodies) {
  EXPECT_EQ(error_summary(""), "(empty body)");
  EXPECT_EQ(error_summary(" \r\n "), "(empty body)");
  EXPECT_EQ(error_summary("upstream connect error\nreset reason: overflow"),
            "upstream connect error");
  EXPECT_EQ(error_summary("\n\n<html><title>502</title>\n</html>"), "<html><title>502</title>");
  EXPECT_EQ(error_summary(R"({"message": "rate limited"})"), R"({"message":"rate limited"})");
  EXPECT_EQ(error_summary(R"({"errors": [{}]})"), R"({"errors":[{}]})");
}

// Error bodies are read as a DOM (they are small): a large one is shown by its first line instead.
TEST(JsonApiErrorSummary, LargeBodyIsShownByItsFirstLineNotParsed) {
  const std::string errors = R"({"errors":[{"status":"404","title":"Not Found"}],)";
  EXPECT_EQ(error_summary(errors + R"("pad":"x"})"), "404 Not Found");
  const std::string large = errors + R"("pad":")" + std::string(70 * 1024, 'x') + R"("})";
  EXPECT_EQ(error_summary(large), large.substr(0, 300) + "...");
}

TEST(JsonApiErrorSummary, TruncatesWithoutSplittingUtf8) {
  const std::string long_line(1000, 'x');
  const std::string summary = error_summary(long_line);
  EXPECT_EQ(summary, std::string(300, 'x') + "...");

  // "\xC3\xA9" (é) is two bytes; after 299 ASCII bytes, a cut at 300 would split the first one.
  std::string accented = std::string(299, 'a');
  for (int i = 0; i < 10; ++i) accented += "\xC3\xA9";
  EXPECT_EQ(error_summary(accented), std::string(299, 'a') + "...");

  std::string many_errors = R"({"errors":[)";
  for (int i = 0; i < 100; ++i) {
    if (i > 0) many_errors += ",";
    many_errors += R"({"status":"422","title":"Invalid","detail":"field )" + std::to_string(i) +
                   R"( is wrong"})";
  }
  many_errors += "]}";
  EXPECT_LE(error_summary(many_errors).size(), 303u);
}

}  // namespace
}  // namespace scalr_usage
