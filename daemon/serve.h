#pragma once
// The daemon proper: the snapshot store, the listener, the watchdog and the reloadable workers,
// from start to a signal that stops it.

#include <signal.h>

#include <memory>

#include "daemon/cli.h"
#include "daemon/config_file.h"
#include "web/web_config.h"

namespace scalr_usage {

// Both configuration files, valid; or nothing, when either is not and the reason was reported.
struct Configuration {
  Config config;
  std::shared_ptr<const WebConfigFile> web_config;  // null without --web.config.file
};

// The flags that override the configuration file (--web.listen-address, --shard), applied at
// start and again to every configuration a SIGHUP reload reads.
void apply_flag_overrides(const CliOptions& options, Config& config);

// Starts everything and serves until SIGTERM or SIGINT, reloading on SIGHUP; signals are blocked
// in every thread and taken here from `signals`. Returns false when something could not start
// (logged): an unusable source setup or a listener that cannot bind.
bool serve(const CliOptions& options, Configuration loaded, const sigset_t& signals);

}  // namespace scalr_usage
