#include "core/diagnostic.h"

namespace meshgate {

std::string Diagnostic::to_string() const {
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) about `":" + std::string` at -O3.
    std::string out = file;
    if (line != 0) {
        out.append(":").append(std::to_string(line));
        out.append(":").append(std::to_string(column));
    }
    out.append(severity == Severity::error ? ": error: " : ": warning: ");
    if (!key.empty()) out.append(key).append(": ");
    out.append(message);
    return out;
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
