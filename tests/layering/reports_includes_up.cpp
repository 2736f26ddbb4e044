// Compiled with the reports library's include path (tests/CMakeLists.txt): a header above reports
// (the HTTP server) or beside it (a source's internals) must not be found.
#include "web/server.h"
