#pragma once
// Structured logging in the two formats Prometheus exporters use (logfmt, JSON), on top of spdlog.
// Messages are constant text; variable parts go in fields, so lines stay greppable and parseable.

#include <chrono>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace scalr_usage::log {

enum class Level { debug, info, warn, error };
enum class Format { logfmt, json };

using Field = std::pair<std::string_view, std::string_view>;
using Fields = std::initializer_list<Field>;
// Fields built at run time (a source's own start-up fields).
using FieldSpan = std::span<const Field>;

// Throws std::invalid_argument for an unknown name.
Level parse_level(std::string_view name);
Format parse_format(std::string_view name);

// Configures the process-wide logger (stderr). Safe to call again, e.g. on reload.
void init(Level level, Format format);
bool enabled(Level level);

// One rendered line, without the trailing newline. Pure, for tests.
std::string render(Format format, Level level, std::chrono::system_clock::time_point when,
                   std::string_view message, FieldSpan fields);
inline std::string render(Format format, Level level, std::chrono::system_clock::time_point when,
                          std::string_view message, Fields fields) {
  return render(format, level, when, message, FieldSpan(fields.begin(), fields.size()));
}

void write(Level level, std::string_view message, FieldSpan fields);
inline void write(Level level, std::string_view message, Fields fields = {}) {
  write(level, message, FieldSpan(fields.begin(), fields.size()));
}
inline void debug(std::string_view m, Fields f = {}) { write(Level::debug, m, f); }
inline void info(std::string_view m, Fields f = {}) { write(Level::info, m, f); }
inline void warn(std::string_view m, Fields f = {}) { write(Level::warn, m, f); }
inline void error(std::string_view m, Fields f = {}) { write(Level::error, m, f); }

}  // namespace scalr_usage::log
