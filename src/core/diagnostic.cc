#include "core/diagnostic.h"

namespace meshgate {

std::string Diagnostic::to_string() const {
    std::string out = file;
    if (line != 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    out += severity == Severity::error ? ": error: " : ": warning: ";
    if (!key.empty()) out += key + ": ";
    return out + message;
}

bool Diagnostics::has_errors() const {
    for (const auto& d : items) {
        if (d.severity == Diagnostic::Severity::error) return true;
    }
    return false;
}

std::vector<Diagnostic> Diagnostics::errors() const {
    std::vector<Diagnostic> out;
    for (const auto& d : items) {
        if (d.severity == Diagnostic::Severity::error) out.push_back(d);
    }
    return out;
}

std::vector<Diagnostic> Diagnostics::warnings() const {
    std::vector<Diagnostic> out;
    for (const auto& d : items) {
        if (d.severity == Diagnostic::Severity::warning) out.push_back(d);
    }
    return out;
}

}  // namespace meshgate
