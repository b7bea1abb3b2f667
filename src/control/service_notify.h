#pragma once

#include <chrono>
#include <string>

namespace meshgate::control {

// The systemd notification protocol (sd_notify(3)) without libsystemd: datagrams to
// $NOTIFY_SOCKET. Does nothing when meshgated does not run under a service manager.
class ServiceNotifier {
public:
    ServiceNotifier();  // reads $NOTIFY_SOCKET and $WATCHDOG_USEC
    void ready();       // READY=1: ports up, first snapshot visible to every worker
    void reloading();   // RELOADING=1, then ready() once the reload is applied
    void stopping();    // STOPPING=1
    // WATCHDOG=1 at half the watchdog interval, when the unit has WatchdogSec=.
    void keepalive(std::chrono::steady_clock::time_point now);
    void status(const std::string& text);  // STATUS=…, shown by systemctl status

private:
    void send(const std::string& message) const;

    std::string socket_;
    std::chrono::microseconds watchdog_{0};
    std::chrono::steady_clock::time_point last_keepalive_{};
};

}  // namespace meshgate::control
