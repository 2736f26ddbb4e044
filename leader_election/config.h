#pragma once
// Finishing reports.leader_election (parsed by reports/config.h, which owns `reports:`): the DSN
// is a secret, read with the rest of the configuration's secrets so a missing or broken one fails
// before anything starts, and --check-config reports it.

#include <string_view>

#include "config/environment.h"
#include "reports/config.h"

namespace scalr_usage {

// The environment variable a DSN is taken from when no key names one.
inline constexpr std::string_view kLeaderDsnEnv = "SCALR_USAGE_LEADER_DSN";

// Reads the DSN from reports.leader_election.dsn, dsn_file, dsn_credential or
// SCALR_USAGE_LEADER_DSN (pq/dsn_config.h) into election.dsn and election.dsn_origin. Throws
// ConfigError naming the key; no message shows the DSN's password.
void finish_leader_election(LeaderElectionConfig& election, const Environment& env);

}  // namespace scalr_usage
