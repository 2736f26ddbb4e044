#include "collectors/postgres/module.h"

#include "collectors/postgres/postgres_source.h"
#include "config/duration.h"
#include "pq/dsn.h"
#include "util/text.h"

namespace scalr_usage {

std::unique_ptr<UsageSource> PostgresModule::make(const Config& config, RequestObserver&) {
  return std::make_unique<PostgresSource>(config);
}

std::vector<std::pair<std::string, std::string>> PostgresModule::log_fields(const Config& config) {
  return {{"dsn", redact_dsn(config.dsn.reveal())},
          {"dsn_origin", config.dsn_origin},
          {"accounts", config.accounts.empty() ? "all" : join(config.accounts)},
          {"query", config.query.empty() ? "default" : "custom"},
          {"statement_timeout", format_duration(config.statement_timeout)}};
}

// One read, with time to connect and to retry once on a dropped connection.
std::chrono::milliseconds PostgresModule::poll_budget(const Config& config) {
  return config.statement_timeout * 4;
}

}  // namespace scalr_usage
