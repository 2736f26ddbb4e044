#include "collectors/postgres/sql_statement.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "util/text.h"

namespace scalr_usage {

namespace {

// A character that continues an identifier or keyword, so that the '$' or quote after it does not
// start a dollar quote or an E'' string (x$1, name'...').
bool is_identifier_char(char c) {
  return is_alnum(c) || c == '_' || c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

// The skips below take i at the first character of a literal or comment and return the index just
// after it; past the end of sql, up to n + 1, when it is not closed.

std::size_t after_block_comment(std::string_view sql, std::size_t i) {
  const std::size_t n = sql.size();
  int depth = 1;  // block comments nest in PostgreSQL
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
  return i;
}

std::size_t after_string_literal(std::string_view sql, std::size_t i) {
  const std::size_t n = sql.size();
  // E'...' strings take backslash escapes; in the others, '' is the only escape.
  const bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                       (i < 2 || !is_identifier_char(sql[i - 2]));
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
  return i + 1;
}

// $tag$...$tag$ (the tag may be empty); nullopt when the '$' at i starts none: $1 is a parameter,
// and a '$' inside an identifier is part of it.
std::optional<std::size_t> after_dollar_quote(std::string_view sql, std::size_t i) {
  const std::size_t n = sql.size();
  if (i > 0 && is_identifier_char(sql[i - 1])) return std::nullopt;
  std::size_t end = i + 1;
  while (end < n && (is_alnum(sql[end]) || sql[end] == '_')) ++end;
  const bool parameter = end > i + 1 && sql[i + 1] >= '0' && sql[i + 1] <= '9';
  if (end >= n || sql[end] != '$' || parameter) return std::nullopt;
  const std::string_view tag = sql.substr(i, end - i + 1);
  const std::size_t close = sql.find(tag, end + 1);
  return close == std::string_view::npos ? n : close + tag.size();
}

}  // namespace

// The query without its statement terminator. It is wrapped as a subquery
// (collectors/postgres/queries.h), where a ';' would be a syntax error, and people paste queries
// from psql with one, often followed by a comment. This knows just enough SQL lexing (string
// literals, quoted identifiers, dollar quotes, comments) to tell a terminating ';' from one inside
// a string; more SQL after it means several statements, which cannot run as one query.
std::string single_statement(const std::string& text) {
  const std::string_view sql = text;
  const std::size_t n = sql.size();
  std::optional<std::size_t> terminator;  // the first ';' outside literals and comments
  std::size_t i = 0;
  while (i < n) {
    const char c = sql[i];
    if (sql.substr(i, 2) == "--") {
      i = std::min(sql.find('\n', i), n);
      continue;
    }
    if (sql.substr(i, 2) == "/*") {
      i = after_block_comment(sql, i);
      continue;
    }
    if (terminator && !is_space(c) && c != ';') {
      throw std::invalid_argument("want a single statement, got more SQL after its \";\"");
    }
    if (c == '\'') {
      i = after_string_literal(sql, i);
      continue;
    }
    if (c == '"') {
      i = std::min(sql.find('"', i + 1), n) + 1;
      continue;
    }
    if (c == '$') {
      if (const std::optional<std::size_t> end = after_dollar_quote(sql, i)) {
        i = *end;
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
