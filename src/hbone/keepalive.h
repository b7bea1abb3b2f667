#pragma once

#include <chrono>
#include <optional>

namespace meshgate::hbone {

// HBONE's PING keepalive (istio-semantics.md §8.2, as ztunnel on both sides): a PING every
// 10 s after the first 10 s; a connection whose PING is not answered within 20 s is dead.
class Keepalive {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto interval = std::chrono::seconds(10);
    static constexpr auto timeout = std::chrono::seconds(20);

    explicit Keepalive(Clock::time_point start) : next_(start + interval) {}

    enum class Due { nothing, ping, dead };
    // What to do at `now`, given whether the last PING is still unanswered.
    Due check(Clock::time_point now, bool awaiting) {
        if (awaiting && sent_ && now - *sent_ >= timeout) return Due::dead;
        if (awaiting || now < next_) return Due::nothing;
        sent_ = now;
        next_ = now + interval;
        return Due::ping;
    }

private:
    Clock::time_point next_;
    std::optional<Clock::time_point> sent_;
};

}  // namespace meshgate::hbone
