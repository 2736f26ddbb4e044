#pragma once
// Just enough SQL lexing to take a custom postgres.query as PostgreSQL would run it.

#include <string>

namespace scalr_usage {

// The query without its statement terminator and surrounding whitespace. It is wrapped as a
// subquery (collectors/postgres/queries.h), where a ';' would be a syntax error, and people paste
// queries from psql with one, often followed by a comment. Throws std::invalid_argument for an
// empty query or more SQL after the terminator (several statements cannot run as one query).
std::string single_statement(const std::string& text);

}  // namespace scalr_usage
