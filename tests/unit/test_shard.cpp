#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "model/shard.h"

namespace scalr_usage {
namespace {

// The published FNV-1a 64 test vectors (Fowler/Noll/Vo), not values this code printed.
static_assert(fnv1a_64("") == 0xcbf29ce484222325ULL);

TEST(Shard, Fnv1a64MatchesThePublishedTestVectors) {
  EXPECT_EQ(fnv1a_64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a_64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a_64("foobar"), 0x85944171f73967e8ULL);
}

TEST(Shard, Fnv1a64HashesBytesNotSignedChars) {
  // 0xff as a signed char is -1; sign extension would XOR 0xffffffffffffffff in instead of 0xff.
  // Expected value: (basis ^ 0xff) * prime mod 2^64, worked out by hand in Python.
  EXPECT_EQ(fnv1a_64("\xff"), 0xaf64724c8602eb6eULL);
}

TEST(Shard, AnUnshardedExporterOwnsEveryAccount) {
  for (const char* id : {"", "a", "foobar", "acc-aaa"}) EXPECT_TRUE(owns(ShardSpec{}, id)) << id;
}

TEST(Shard, OwnsIsTheHashModuloCount) {
  // 0xaf63dc4c8601ec8c ("a") is even; mod 3 it is 1. 0xcbf29ce484222325 ("") mod 3 is 2.
  EXPECT_TRUE(owns({0, 2}, "a"));
  EXPECT_FALSE(owns({1, 2}, "a"));
  EXPECT_TRUE(owns({1, 3}, "a"));
  EXPECT_FALSE(owns({0, 3}, "a"));
  EXPECT_TRUE(owns({2, 3}, ""));
  EXPECT_TRUE(owns({1, 2}, ""));
}

TEST(Shard, OwnedAccountsPartitionsTheListKeepingItsOrder) {
  const std::vector<std::string> all = {"foobar", "", "acc-bbb", "a", "acc-aaa"};
  // By the hashes mod 2: foobar 0, "" 1, acc-bbb 1, a 0, acc-aaa 0.
  EXPECT_EQ(owned_accounts({0, 2}, all), (std::vector<std::string>{"foobar", "a", "acc-aaa"}));
  EXPECT_EQ(owned_accounts({1, 2}, all), (std::vector<std::string>{"", "acc-bbb"}));
  EXPECT_EQ(owned_accounts({}, all), all);
}

TEST(Shard, ParsesIndexSlashCount) {
  EXPECT_EQ(parse_shard("0/1"), (ShardSpec{0, 1}));
  EXPECT_EQ(parse_shard("1/2"), (ShardSpec{1, 2}));
  EXPECT_EQ(parse_shard("6/7"), (ShardSpec{6, 7}));
}

std::string parse_error(const std::string& text) {
  try {
    parse_shard(text);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "accepted";
}

TEST(Shard, RefusesWhatIsNotIndexSlashCount) {
  EXPECT_EQ(parse_error("2/2"),
            "INDEX must be less than COUNT (shards are numbered from 0), got \"2/2\"");
  EXPECT_EQ(parse_error("0/0"), "COUNT must be at least 1, got \"0/0\"");
  EXPECT_EQ(parse_error("1"), "want INDEX/COUNT, e.g. 0/2, got \"1\"");
  for (const char* bad : {"x/2", "-1/2", " 1/2", "/2", "+1/2", "0x1/2", "99999999999999999999/2"}) {
    EXPECT_NE(parse_error(bad).find("INDEX is not a non-negative integer"), std::string::npos)
        << bad << ": " << parse_error(bad);
  }
  for (const char* bad : {"1/", "1/2/3", "1/2 ", "1/two"}) {
    EXPECT_NE(parse_error(bad).find("COUNT is not a non-negative integer"), std::string::npos)
        << bad << ": " << parse_error(bad);
  }
}

}  // namespace
}  // namespace scalr_usage
