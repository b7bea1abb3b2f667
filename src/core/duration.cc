#include "core/duration.h"

#include <cctype>
#include <cstdint>

namespace meshgate {

std::optional<Duration> parse_duration(std::string_view text) {
    if (text.empty()) return std::nullopt;
    int64_t total = 0;
    size_t i = 0;
    while (i < text.size()) {
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
        int64_t value = 0;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            value = value * 10 + (text[i] - '0');
            if (value > 1'000'000'000) return std::nullopt;
            ++i;
        }
        size_t unit_start = i;
        while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
        auto unit = text.substr(unit_start, i - unit_start);
        int64_t scale = 0;
        if (unit == "ns") scale = 1;
        else if (unit == "us") scale = 1'000;
        else if (unit == "ms") scale = 1'000'000;
        else if (unit == "s") scale = 1'000'000'000;
        else if (unit == "m") scale = 60'000'000'000;
        else if (unit == "h") scale = 3'600'000'000'000;
        else return std::nullopt;
        total += value * scale;
    }
    return Duration(total);
}

std::string format_duration(Duration d) {
    auto ns = d.count();
    struct Unit { int64_t scale; const char* name; };
    static constexpr Unit units[] = {{3'600'000'000'000, "h"}, {60'000'000'000, "m"},
                                     {1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}};
    if (ns == 0) return "0s";
    for (const auto& u : units) {
        if (ns % u.scale == 0) return std::to_string(ns / u.scale) + u.name;
    }
    return std::to_string(ns) + "ns";
}

}  // namespace meshgate
