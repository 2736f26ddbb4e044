#include "model/shard.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "util/text.h"  // quote_for_message

namespace scalr_usage {

namespace {

// Digits only: no sign, no spaces, no "0x", so "-1/2" or " 1/2" cannot slip through as numbers.
std::uint64_t parse_number(std::string_view digits, std::string_view what, std::string_view text) {
  std::uint64_t value = 0;
  const char* end = digits.data() + digits.size();
  const bool all_digits = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  const auto [stop, error] = std::from_chars(digits.data(), end, value);
  if (!all_digits || error != std::errc{} || stop != end) {
    throw std::invalid_argument(std::string(what) + " is not a non-negative integer in " +
                                quote_for_message(text) + " (want INDEX/COUNT, e.g. 0/2)");
  }
  return value;
}

}  // namespace

bool owns(const ShardSpec& shard, std::string_view account_id) {
  return fnv1a_64(account_id) % shard.count == shard.index;
}

std::vector<std::string> owned_accounts(const ShardSpec& shard, std::vector<std::string> accounts) {
  std::erase_if(accounts, [&](const std::string& id) { return !owns(shard, id); });
  return accounts;
}

ShardSpec parse_shard(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    throw std::invalid_argument("want INDEX/COUNT, e.g. 0/2, got " + quote_for_message(text));
  }
  const ShardSpec shard{parse_number(text.substr(0, slash), "INDEX", text),
                        parse_number(text.substr(slash + 1), "COUNT", text)};
  if (shard.count < 1) {
    throw std::invalid_argument("COUNT must be at least 1, got " + quote_for_message(text));
  }
  if (shard.index >= shard.count) {
    throw std::invalid_argument("INDEX must be less than COUNT (shards are numbered from 0), got " +
                                quote_for_message(text));
  }
  return shard;
}

}  // namespace scalr_usage
