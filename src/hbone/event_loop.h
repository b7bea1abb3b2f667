#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace meshgate::hbone {

// One HBONE thread's loop: epoll over non-blocking sockets, a periodic tick for deadlines,
// and an eventfd to stop it from another thread. Single-threaded inside; no thread per
// connection.
class EventLoop {
public:
    // Something with a file descriptor in the loop.
    class Handler {
    public:
        virtual ~Handler() = default;
        virtual void on_events(uint32_t events) = 0;
    };

    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Watches `fd` for `events` (EPOLLIN, EPOLLOUT, …) on behalf of `handler`.
    void watch(int fd, uint32_t events, Handler* handler);
    void change(int fd, uint32_t events, Handler* handler);
    void forget(int fd);
    // Calls `handler` with EPOLLIN again after this round's events, before waiting: for bytes
    // already read from `fd` into a buffer of its own (OpenSSL's read-ahead), which epoll
    // cannot report. Forgetting `fd` cancels it.
    void call_again(int fd, Handler* handler);
    // Frees `object` after the current round of events: one of them may still name it, or it
    // may be the one whose callback is running.
    template <class T>
    void retire(std::unique_ptr<T> object) {
        if (object) retired_.push_back(std::shared_ptr<T>(std::move(object)));
    }

    // Runs until stop(), calling `tick` about every `period`.
    void run(const std::function<void()>& tick, std::chrono::milliseconds period);
    // From any thread.
    void stop();

    void free_retired();

private:
    int epoll_ = -1;
    int wake_ = -1;  // eventfd: stop() writes, the loop wakes
    std::atomic<bool> stopping_{false};
    std::vector<std::shared_ptr<void>> retired_;
    std::vector<std::pair<int, Handler*>> again_;    // call_again(), in the order asked
    std::vector<std::pair<int, Handler*>> calling_;  // the round's list being called
};

}  // namespace meshgate::hbone
