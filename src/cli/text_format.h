#pragma once

#include <cstdio>
#include <string>

namespace meshgate::cli {

// printf into a std::string, for the aligned columns of meshgatectl's tables (one line each).
template <typename... Args>
std::string printf_string(const char* format, Args... args) {
    char buf[512];
    std::snprintf(buf, sizeof buf, format, args...);
    return buf;
}

}  // namespace meshgate::cli
