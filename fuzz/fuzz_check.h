#pragma once
// Property checks inside fuzz targets. A failed check aborts, which libFuzzer reports as a crash
// and saves the input, exactly like a sanitizer finding; assert() would vanish under NDEBUG.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace scalr_usage::fuzz {

[[noreturn]] inline void check_failed(const char* condition, std::string_view detail,
                                      const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n  detail: %.*s\n", file, line, condition,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// Whether text is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
inline bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned lowest = 0;
    unsigned code = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if ((byte & 0xE0) == 0xC0) {
      length = 2, lowest = 0x80, code = byte & 0x1Fu;
    } else if ((byte & 0xF0) == 0xE0) {
      length = 3, lowest = 0x800, code = byte & 0x0Fu;
    } else if ((byte & 0xF8) == 0xF0) {
      length = 4, lowest = 0x10000, code = byte & 0x07u;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3Fu);
    }
    if (code < lowest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

}  // namespace scalr_usage::fuzz

#define FUZZ_CHECK(condition, detail)                                              \
  do {                                                                             \
    if (!(condition)) {                                                            \
      ::scalr_usage::fuzz::check_failed(#condition, (detail), __FILE__, __LINE__); \
    }                                                                              \
  } while (false)
