#pragma once

#include <algorithm>
#include <chrono>

namespace meshgate::control {

// How long the control thread sleeps after a round with nothing to do. Each wake-up costs a
// context switch (on a VM, tens of microseconds): at a fixed 200 µs an idle meshgated spent 8.5 %
// of a core waking up. While there is work the thread does not sleep at all; once it runs out,
// the sleep starts at `shortest` and doubles with each quiet round up to `longest`. What waits
// for a round is the kernel's packets on an exception port, worker events, admin requests and
// timers: a node with exception ports keeps `longest` at `shortest`, so a packet the kernel sends
// still waits at most one short round.
class IdleSleep {
public:
    using Duration = std::chrono::microseconds;

    IdleSleep(Duration shortest, Duration longest) : shortest_(shortest), longest_(std::max(shortest, longest)), next_(shortest) {}

    // After a round: zero when it did something (and the next quiet round starts short again),
    // else how long to sleep.
    Duration after_round(bool busy) {
        if (busy) {
            next_ = shortest_;
            return Duration::zero();
        }
        const Duration now = next_;
        next_ = std::min(longest_, next_ * 2);
        return now;
    }

private:
    Duration shortest_, longest_, next_;
};

}  // namespace meshgate::control
