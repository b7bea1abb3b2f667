#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace meshgate {

// A problem a user can fix, located in their file: "file:line:column: error: key: message".
struct Diagnostic {
    enum class Severity : uint8_t { error, warning };

    Severity severity = Severity::error;
    std::string file;
    uint32_t line = 0;    // 0: not tied to a line
    uint32_t column = 0;
    std::string key;      // dotted path of the offending key, e.g. "service[0].ports[1].protocol"
    std::string message;

    std::string to_string() const;
};

struct Diagnostics {
    std::vector<Diagnostic> items;

    void add(Diagnostic d) { items.push_back(std::move(d)); }
    bool has_errors() const;
    std::vector<Diagnostic> errors() const;
    std::vector<Diagnostic> warnings() const;
};

}  // namespace meshgate
