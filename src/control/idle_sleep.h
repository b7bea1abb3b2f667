#pragma once

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <vector>

namespace meshgate::control {

// How long the control thread sleeps after a round with nothing to do. Each wake-up costs a
// context switch (on a VM, tens of microseconds): at a fixed 200 µs an idle meshgated spent 8.5 %
// of a core waking up. While there is work the thread does not sleep at all; once it runs out,
// the sleep starts at `shortest` and doubles with each quiet round up to `longest`. What waits
// for a round is worker events, admin requests, timers and the kernel's packets on an exception
// tap; the last end the sleep when they arrive (KernelWake). A node whose taps cannot wake the
// thread keeps `longest` at `shortest`, so a packet the kernel sends waits at most a short round.
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

// The sleep itself: up to the pause, ended early when the kernel writes a packet to an exception
// tap (one of `fds`, the taps' rx queues, is readable).
class KernelWake {
public:
    explicit KernelWake(const std::vector<int>& fds) {
        for (int fd : fds) fds_.push_back(pollfd{fd, POLLIN, 0});
    }

    // What a round moved from the taps.
    void round(uint32_t packets) {
        if (packets > 0) suspect_ = false;
    }

    // True when a tap ended the sleep. After such a wake-up that the rounds since found no
    // packet for (one the tap's receive cannot take, e.g. with no free buffer), the next sleep
    // is a plain one, so that an fd that stays readable cannot turn the sleeps into a spin.
    bool sleep(std::chrono::microseconds pause) {
        const auto n = pause.count();
        const timespec timeout{static_cast<time_t>(n / 1000000), static_cast<long>(n % 1000000) * 1000};
        const bool use_fds = !suspect_ && !fds_.empty();
        const int ready = ppoll(use_fds ? fds_.data() : nullptr, use_fds ? fds_.size() : 0, &timeout, nullptr);
        suspect_ = use_fds && ready > 0;
        return suspect_;
    }

private:
    std::vector<pollfd> fds_;
    bool suspect_ = false;
};

}  // namespace meshgate::control
