#pragma once
// The process environment as a value, so tests and the daemon supply it without touching the
// process's globals.

#include <map>
#include <string>

namespace scalr_usage {

using Environment = std::map<std::string, std::string>;
Environment process_environment();

}  // namespace scalr_usage
