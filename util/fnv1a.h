#pragma once
// FNV-1a, 64-bit: a small, fixed, documented hash that operators can compute themselves (Python:
// a loop of xor and multiply), for values the exporter derives from names: the advisory lock key
// of report leader election (leader_election/state_table.h) and the shard of an account
// (model/shard.h).

#include <cstdint>
#include <string_view>

namespace scalr_usage {

inline constexpr std::uint64_t kFnv1a64OffsetBasis = 14695981039346656037ULL;
inline constexpr std::uint64_t kFnv1a64Prime = 1099511628211ULL;

// Over the bytes of text as they are (UTF-8 as written), arithmetic modulo 2^64.
constexpr std::uint64_t fnv1a_64(std::string_view text) {
  std::uint64_t hash = kFnv1a64OffsetBasis;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnv1a64Prime;
  }
  return hash;
}

}  // namespace scalr_usage
