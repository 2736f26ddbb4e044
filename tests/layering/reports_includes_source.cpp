// Compiled with the reports library's include path (tests/CMakeLists.txt): a source's internals
// (here the PostgreSQL DSN code) are not the reports' business.
#include "collectors/postgres/dsn.h"
