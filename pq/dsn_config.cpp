#include "pq/dsn_config.h"

#include <algorithm>
#include <stdexcept>

#include "config/error.h"
#include "config/files.h"
#include "pq/dsn.h"
#include "util/text.h"

namespace scalr_usage {

namespace {

struct RawDsn {
  std::string text;
  std::string origin;
  std::string key;  // the key errors name
};

// The first source found wins: the value, the file, the environment.
RawDsn raw_dsn(DsnKeys keys, const std::string& section, std::string_view env_var,
               const Environment& env) {
  if (keys.dsn_credential) {
    if (keys.dsn || keys.dsn_file) {
      fail_config(section + ".dsn_credential",
                  "set only one of " + section + ".dsn, dsn_file, dsn_credential");
    }
    keys.dsn_file = credential_path(section + ".dsn_credential", *keys.dsn_credential, env);
  }
  if (keys.dsn) return RawDsn{*keys.dsn, section + ".dsn", section + ".dsn"};
  if (keys.dsn_file) {
    const std::string key = section + ".dsn_file";
    std::string text = read_configured_file(*keys.dsn_file, kMaxSecretBytes, key);
    if (text.size() > kMaxSecretBytes) {
      fail_config(key, shown_path(*keys.dsn_file) + " is larger than 64 KiB; is it the DSN file?");
    }
    return RawDsn{std::move(text), "dsn_file " + shown_path(*keys.dsn_file), key};
  }
  if (const auto from_env = env.find(std::string(env_var)); from_env != env.end()) {
    return RawDsn{from_env->second, "env " + std::string(env_var), section + ".dsn"};
  }
  fail_config(section + ".dsn", "required: set " + section + ".dsn, " + section + ".dsn_file or " +
                                    std::string(env_var));
}

}  // namespace

ConfiguredDsn read_configured_dsn(const DsnKeys& keys, std::string_view section,
                                  std::string_view env_var, const Environment& env) {
  const RawDsn raw = raw_dsn(keys, std::string(section), env_var, env);
  // Line breaks separate key=value pairs like spaces do, so a DSN file may use several lines.
  const std::string dsn(trim(raw.text));
  const std::string where = keys.dsn ? "" : " in " + raw.origin;
  if (dsn.empty()) fail_config(raw.key, "no DSN: " + raw.origin + " is empty");
  if (std::any_of(dsn.begin(), dsn.end(), [](char c) { return is_control(c) && !is_space(c); })) {
    fail_config(raw.key, "DSN" + where + " contains control characters");
  }
  try {
    parse_dsn(dsn);
  } catch (const std::invalid_argument& error) {
    // libpq's reason, already scrubbed of the password, on one line.
    std::string reason = error.what();
    std::replace_if(reason.begin(), reason.end(), is_control, ' ');
    fail_config(raw.key, "invalid connection string" + where + ": " + reason);
  }
  return ConfiguredDsn{Secret(dsn), raw.origin};
}

}  // namespace scalr_usage
