// Writes the scalr-usage-exporter(1) man page (roff) to standard output, formatted from
// usage_text(), the text --help prints: one source, so the man page cannot drift from the flags.
// Run at build time (CMakeLists.txt); argv[1] is the version for the title line.
//
// usage_text()'s shape: "usage: " lines, paragraphs, then "Flags:" / "Report flags:" sections of
// flag lines ("  -h, --help" or "      --name=VALUE") each followed by its help indented 10 spaces.

#include <iostream>
#include <sstream>
#include <string>

#include "daemon/cli.h"

namespace {

// roff-safe text: backslashes escaped, hyphens as \- (they are options and paths, to be copied),
// a line starting with a control character defused.
std::string escape(const std::string& line) {
  std::string out;
  for (const char c : line) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string trim_left(const std::string& line) {
  const std::size_t first = line.find_first_not_of(' ');
  return first == std::string::npos ? std::string() : line.substr(first);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string version = argc > 1 ? argv[1] : "";
  std::istringstream in(scalr_usage::usage_text());
  std::ostream& out = std::cout;
  out << ".\\\" Generated from usage_text() (daemon/cli.cpp) by tools/man_page.cpp; do not edit.\n"
      << ".TH SCALR\\-USAGE\\-EXPORTER 1 \"\" \"scalr\\-usage\\-exporter " << escape(version)
      << "\" \"User Commands\"\n"
      << ".SH NAME\nscalr\\-usage\\-exporter \\- Prometheus exporter and billing reports for "
         "Scalr usage\n";
  enum class Part { synopsis, description, flags } part = Part::synopsis;
  bool in_example = false;
  std::string line;
  out << ".SH SYNOPSIS\n";
  while (std::getline(in, line)) {
    if (part == Part::synopsis) {
      if (line.empty()) {
        part = Part::description;
        out << ".SH DESCRIPTION\n";
        continue;
      }
      const std::string command = line.rfind("usage: ", 0) == 0 ? line.substr(7) : trim_left(line);
      out << ".PP\n.B " << escape(command.substr(0, command.find(' '))) << "\n"
          << escape(command.substr(command.find(' ') + 1)) << "\n";
      continue;
    }
    if (line == "Flags:" || line == "Report flags:" || line == "Backfill flags:") {
      part = Part::flags;
      out << ".SH "
          << (line == "Flags:"          ? "OPTIONS"
              : line == "Report flags:" ? "REPORT OPTIONS"
                                        : "BACKFILL OPTIONS")
          << "\n";
      continue;
    }
    if (line.empty()) {
      if (in_example) out << ".fi\n.RE\n";
      in_example = false;
      if (part == Part::description) out << ".PP\n";
      continue;
    }
    if (part == Part::description) {
      if (line.rfind("  ", 0) == 0) {  // an example command line
        if (!in_example) out << ".RS\n.nf\n";
        in_example = true;
        out << escape(trim_left(line)) << "\n";
      } else {
        out << escape(line) << "\n";
      }
      continue;
    }
    // Flags: a flag line is indented 2 (with a short name) or 6, its help 10.
    if (line.rfind("          ", 0) == 0) {
      out << escape(trim_left(line)) << "\n";
    } else {
      out << ".TP\n.B " << escape(trim_left(line)) << "\n";
    }
  }
  if (in_example) out << ".fi\n.RE\n";
  out << ".SH FILES\n"
      << ".TP\n.I /etc/scalr\\-usage\\-exporter/scalr\\-usage\\-exporter.yml\n"
         "The configuration file (annotated).\n"
      << ".TP\n.I /etc/default/scalr\\-usage\\-exporter\n"
         "The flags of the systemd service.\n"
      << ".TP\n.I /var/lib/scalr\\-usage\\-exporter/reports\n"
         "Scheduled billing reports of the systemd service.\n"
      << ".SH SEE ALSO\n"
      << "/usr/share/doc/scalr\\-usage\\-exporter/README.md,\n"
         "/usr/share/doc/scalr\\-usage\\-exporter/operations.md\n";
  return 0;
}
