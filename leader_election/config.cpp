#include "leader_election/config.h"

#include <utility>

#include "pq/dsn_config.h"

namespace scalr_usage {

void finish_leader_election(LeaderElectionConfig& election, const Environment& env) {
  const DsnKeys keys{election.dsn_value, election.dsn_file, election.dsn_credential};
  ConfiguredDsn dsn = read_configured_dsn(keys, "reports.leader_election", kLeaderDsnEnv, env);
  election.dsn = std::move(dsn.dsn);
  election.dsn_origin = std::move(dsn.origin);
}

}  // namespace scalr_usage
