// EventLoop::call_again(): a handler is called again in the same round, before the loop waits,
// unless its descriptor was forgotten meanwhile.
#include "hbone/event_loop.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

namespace meshgate::hbone {
namespace {

struct Recorder : EventLoop::Handler {
    std::function<void(uint32_t)> on;
    int calls = 0;
    void on_events(uint32_t events) override {
        ++calls;
        if (on) on(events);
    }
};

// Runs `loop` with a tick far away; a watchdog stops it after 5 s so a failing test ends.
std::chrono::milliseconds run_until_stopped(EventLoop& loop) {
    std::atomic<bool> done{false};
    std::thread watchdog([&] {
        for (int i = 0; i < 500 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        loop.stop();
    });
    const auto begin = std::chrono::steady_clock::now();
    loop.run([] {}, std::chrono::minutes(1));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
    done = true;
    watchdog.join();
    return took;
}

TEST(EventLoop, CallAgainRunsBeforeTheLoopWaits) {
    EventLoop loop;
    const int fd = eventfd(0, EFD_NONBLOCK);  // never readable: only call_again() can call
    Recorder handler;
    loop.watch(fd, EPOLLIN, &handler);
    uint32_t seen = 0;
    handler.on = [&](uint32_t events) {
        seen = events;
        if (handler.calls < 3) loop.call_again(fd, &handler);  // asked again from inside the call
        else loop.stop();
    };
    loop.call_again(fd, &handler);
    loop.call_again(fd, &handler);  // twice in a round is once
    const auto took = run_until_stopped(loop);
    EXPECT_EQ(handler.calls, 3);
    EXPECT_EQ(seen, uint32_t{EPOLLIN});
    EXPECT_LT(took, std::chrono::seconds(4)) << "the loop waited instead of calling again";
    loop.forget(fd);
    close(fd);
}

TEST(EventLoop, ForgettingCancelsACallAgain) {
    EventLoop loop;
    const int quiet = eventfd(0, EFD_NONBLOCK), other = eventfd(0, EFD_NONBLOCK);
    Recorder forgotten, ender, stopper;
    loop.watch(quiet, EPOLLIN, &forgotten);
    loop.watch(other, EPOLLIN, &ender);
    // `ender` runs first and forgets `quiet`, whose call is already on this round's list.
    ender.on = [&](uint32_t) { loop.forget(quiet); };
    stopper.on = [&](uint32_t) { loop.stop(); };
    loop.call_again(other, &ender);
    loop.call_again(quiet, &forgotten);
    loop.call_again(other + 1000, &stopper);  // any descriptor number: call_again() only keys by it
    run_until_stopped(loop);
    EXPECT_EQ(ender.calls, 1);
    EXPECT_EQ(forgotten.calls, 0);
    EXPECT_EQ(stopper.calls, 1);
    loop.forget(other);
    close(quiet);
    close(other);
}

}  // namespace
}  // namespace meshgate::hbone
