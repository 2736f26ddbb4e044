#pragma once
// Shards: a fleet of exporters with the same configuration splits the accounts between them. The
// shard of an account is fnv1a_64(account id) mod COUNT, a fixed function of the id alone, so an
// operator can predict where an account lands (README.md, "Shards") and every replica agrees
// without talking to the others.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/fnv1a.h"

namespace scalr_usage {

struct ShardSpec {
  std::uint64_t index = 0;  // this exporter's shard, < count
  std::uint64_t count = 1;  // 1: not sharded, every account is this exporter's

  friend bool operator==(const ShardSpec&, const ShardSpec&) = default;
};

// fnv1a_64 (util/fnv1a.h): tiny, fixed by its published definition, and easy to reproduce in
// any language an operator may use to plan placement.

// The account belongs to this shard: fnv1a_64(account_id) mod shard.count == shard.index.
bool owns(const ShardSpec& shard, std::string_view account_id);

// The accounts of `accounts` this shard owns, in their order. Applied wherever accounts are
// listed (the poller, the scheduled reports), so a shard neither polls nor reports another's.
std::vector<std::string> owned_accounts(const ShardSpec& shard, std::vector<std::string> accounts);

// "INDEX/COUNT" (decimal, COUNT >= 1, INDEX < COUNT), the --shard flag's value. Throws
// std::invalid_argument saying what is wrong, without naming the flag (the caller does).
ShardSpec parse_shard(std::string_view text);

}  // namespace scalr_usage
