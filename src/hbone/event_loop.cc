#include "hbone/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace meshgate::hbone {

namespace {

[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string(what) + ": " + std::strerror(errno)); }

}  // namespace

EventLoop::EventLoop() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) fail("epoll_create1");
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_ < 0) fail("eventfd");
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.ptr = nullptr;  // the wake-up has no handler
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &e) != 0) fail("epoll_ctl");
}

EventLoop::~EventLoop() {
    close(wake_);
    close(epoll_);
}

void EventLoop::watch(int fd, uint32_t events, Handler* handler) {
    epoll_event e{};
    e.events = events;
    e.data.ptr = handler;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &e) != 0) fail("epoll_ctl(ADD)");
}

void EventLoop::change(int fd, uint32_t events, Handler* handler) {
    epoll_event e{};
    e.events = events;
    e.data.ptr = handler;
    if (epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &e) != 0) fail("epoll_ctl(MOD)");
}

void EventLoop::forget(int fd) { epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::run(const std::function<void()>& tick, std::chrono::milliseconds period) {
    auto next_tick = std::chrono::steady_clock::now() + period;
    epoll_event events[64];
    while (!stopping_.load(std::memory_order_relaxed)) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - std::chrono::steady_clock::now());
        const int n = epoll_wait(epoll_, events, 64, static_cast<int>(std::max<int64_t>(0, wait.count())));
        if (n < 0 && errno != EINTR) fail("epoll_wait");
        for (int i = 0; i < n; ++i) {
            if (auto* handler = static_cast<Handler*>(events[i].data.ptr)) handler->on_events(events[i].events);
        }
        free_retired();
        if (std::chrono::steady_clock::now() >= next_tick) {
            tick();
            free_retired();
            next_tick = std::chrono::steady_clock::now() + period;
        }
    }
}

void EventLoop::free_retired() {
    // A handler's destructor may retire others: free in rounds.
    while (!retired_.empty()) {
        auto round = std::move(retired_);
        retired_.clear();
    }
}

void EventLoop::stop() {
    stopping_.store(true);
    const uint64_t one = 1;
    [[maybe_unused]] const auto written = write(wake_, &one, sizeof one);
}

}  // namespace meshgate::hbone
