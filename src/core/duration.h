#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace meshgate {

using Duration = std::chrono::nanoseconds;
// A point on the caller's monotonic clock; the engine never reads a clock itself.
using MonotonicTime = std::chrono::nanoseconds;

// "500ms", "10s", "5m", "1h", "250us", "1m30s". A number without a unit is rejected.
std::optional<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);

}  // namespace meshgate
