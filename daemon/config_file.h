#pragma once
// The daemon's configuration file (--config.file): every section, validated, with defaults filled
// in. Each section is parsed by the module that owns it; this file only lists the sections.

#include <chrono>
#include <string>

#include "chargeback/config.h"
#include "collectors/registry/registry.h"
#include "config/environment.h"
#include "config/error.h"
#include "delivery/registry/registry.h"
#include "model/shard.h"
#include "reports/config.h"
#include "web/listener_config.h"

namespace scalr_usage {

struct PollConfig {
  std::chrono::milliseconds interval{std::chrono::minutes{5}};
  // poll.shard: {index, count}; the poller and the scheduled reports take only this shard's
  // accounts. --shard overrides it.
  ShardSpec shard{};
};

struct Config {
  WebConfig web;
  // Exactly one source: `source:` picks the alternative, its section fills it.
  SourceConfig source;
  PollConfig poll;
  BillingPlan billing;  // `billing:`; the default is no plan
  ReportsConfig reports;
  // The schedules' delivery channels (`webhook:`, `email:`), reports.delivery_retry_for and the
  // channels' shared sections (reports.smtp): parsed within `reports:` by their modules.
  DeliveryConfig delivery;
  // `chargeback:`; the default classifies nothing. Shared by the poller (its snapshots) and the
  // report runs, so both label a workspace the same way; replaced whole on reload.
  ChargebackRules chargeback;
};

// Reads and validates the YAML file. Throws ConfigError (one line, key path first).
// Reads the selected source's secrets (the token file or SCALR_TOKEN; the DSN, dsn_file or
// SCALR_USAGE_PG_DSN), so a missing or unreadable secret fails here, before anything starts. The
// sections of the sources not selected are checked for unknown keys and value types only.
Config load_config(const std::string& path, const Environment& env);
Config parse_config(const std::string& yaml_text, const Environment& env);

}  // namespace scalr_usage
