#include "hbone/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
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

void EventLoop::forget(int fd) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    std::erase_if(again_, [fd](const auto& a) { return a.first == fd; });
    for (auto& a : calling_) {
        if (a.first == fd) a.second = nullptr;
    }
}

void EventLoop::call_again(int fd, Handler* handler) {
    if (std::find(again_.begin(), again_.end(), std::pair{fd, handler}) == again_.end()) again_.emplace_back(fd, handler);
}

void EventLoop::run(const std::function<void()>& tick, std::chrono::milliseconds period) {
    auto next_tick = std::chrono::steady_clock::now() + period;
    epoll_event events[64];
    while (!stopping_.load(std::memory_order_relaxed)) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - std::chrono::steady_clock::now());
        const int timeout = again_.empty() ? static_cast<int>(std::max<int64_t>(0, wait.count())) : 0;
        const int n = epoll_wait(epoll_, events, 64, timeout);
        if (n < 0 && errno != EINTR) fail("epoll_wait");
        for (int i = 0; i < n; ++i) {
            if (auto* handler = static_cast<Handler*>(events[i].data.ptr)) handler->on_events(events[i].events);
        }
        // A handler may end another on the list: forget() blanks its entry.
        calling_ = std::move(again_);
        again_.clear();
        for (std::size_t i = 0; i < calling_.size(); ++i) {
            if (auto* handler = calling_[i].second) handler->on_events(EPOLLIN);
        }
        calling_.clear();
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
