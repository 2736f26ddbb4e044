#include "collectors/postgres/sql_statement.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "util/text.h"

namespace scalr_usage {

// The query without its statement terminator. It is wrapped as a subquery
// (collectors/postgres/queries.h), where a ';' would be a syntax error, and people paste queries
// from psql with one, often followed by a comment. This knows just enough SQL lexing (string
// literals, quoted identifiers, dollar quotes, comments) to tell a terminating ';' from one inside
// a string; more SQL after it means several statements, which cannot run as one query.
std::string single_statement(const std::string& text) {
  const std::string_view sql = text;
  const std::size_t n = sql.size();
  const auto identifier_char = [](char c) {
    return is_alnum(c) || c == '_' || c == '$' || static_cast<unsigned char>(c) >= 0x80;
  };
  std::optional<std::size_t> terminator;  // the first ';' outside literals and comments
  std::size_t i = 0;
  while (i < n) {
    const char c = sql[i];
    if (sql.substr(i, 2) == "--") {
      i = std::min(sql.find('\n', i), n);
      continue;
    }
    if (sql.substr(i, 2) == "/*") {  // block comments nest in PostgreSQL
      int depth = 1;
      for (i += 2; i < n && depth > 0;) {
        if (sql.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (sql.substr(i, 2) == "*/") {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      }
      continue;
    }
    if (terminator && !is_space(c) && c != ';') {
      throw std::invalid_argument("want a single statement, got more SQL after its \";\"");
    }
    if (c == '\'') {
      // E'...' strings take backslash escapes; in the others, '' is the only escape.
      const bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                           (i < 2 || !identifier_char(sql[i - 2]));
      for (++i; i < n; ++i) {
        if (escapes && sql[i] == '\\') {
          ++i;
        } else if (sql[i] == '\'') {
          if (i + 1 < n && sql[i + 1] == '\'') {
            ++i;
          } else {
            break;
          }
        }
      }
      ++i;
      continue;
    }
    if (c == '"') {
      i = std::min(sql.find('"', i + 1), n) + 1;
      continue;
    }
    if (c == '$' && (i == 0 || !identifier_char(sql[i - 1]))) {
      // $tag$...$tag$ (the tag may be empty); $1 is a parameter, not a quote.
      std::size_t end = i + 1;
      while (end < n && (is_alnum(sql[end]) || sql[end] == '_')) ++end;
      const bool parameter = end > i + 1 && sql[i + 1] >= '0' && sql[i + 1] <= '9';
      if (end < n && sql[end] == '$' && !parameter) {
        const std::string_view tag = sql.substr(i, end - i + 1);
        const std::size_t close = sql.find(tag, end + 1);
        i = close == std::string_view::npos ? n : close + tag.size();
        continue;
      }
    }
    if (c == ';' && !terminator) terminator = i;
    ++i;
  }
  const std::string_view query = trim(sql.substr(0, terminator.value_or(n)));
  if (query.empty()) {
    throw std::invalid_argument("must not be empty (leave the key out for the default query)");
  }
  return std::string(query);
}

}  // namespace scalr_usage
