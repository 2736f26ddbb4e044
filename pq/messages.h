#pragma once
// libpq's and the server's messages made fit for a log field or a one-line error.

#include <string>
#include <string_view>

namespace scalr_usage {

// libpq and the server write multi-line messages (a trailing newline, indented hints, "LINE 3:"
// context with a caret); a log field and a one-line config error want them on one line.
std::string one_line(std::string_view text);

// The server's primary message ("ERROR:  relation \"x\" does not exist"), without the context
// lines that quote the query back.
std::string first_line(std::string_view text);

}  // namespace scalr_usage
