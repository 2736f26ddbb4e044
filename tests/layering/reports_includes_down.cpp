// Compiled with the reports library's include path (tests/CMakeLists.txt): headers below reports
// in the layering of docs/architecture.md are found.
#include "collectors/source.h"
#include "config/node.h"
#include "model/snapshot.h"
#include "reports/report.h"
#include "util/text.h"
