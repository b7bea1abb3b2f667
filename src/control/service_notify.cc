#include "control/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace meshgate::control {

ServiceNotifier::ServiceNotifier() {
    if (const char* s = std::getenv("NOTIFY_SOCKET"); s && *s) socket_ = s;
    if (const char* w = std::getenv("WATCHDOG_USEC"); w && *w) watchdog_ = std::chrono::microseconds(std::strtoull(w, nullptr, 10));
}

void ServiceNotifier::send(const std::string& message) const {
    if (socket_.empty() || socket_.size() >= sizeof(sockaddr_un::sun_path)) return;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, socket_.data(), socket_.size());
    if (a.sun_path[0] == '@') a.sun_path[0] = '\0';  // an abstract socket
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    const socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());
    (void)!sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&a), length);
    close(fd);
}

void ServiceNotifier::ready() { send("READY=1"); }

void ServiceNotifier::reloading() {
    // systemd 253+ wants the time of the reload request with RELOADING=1.
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1'000'000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void ServiceNotifier::stopping() { send("STOPPING=1"); }

void ServiceNotifier::status(const std::string& text) { send("STATUS=" + text); }

void ServiceNotifier::keepalive(std::chrono::steady_clock::time_point now) {
    if (watchdog_.count() == 0 || now - last_keepalive_ < watchdog_ / 2) return;
    last_keepalive_ = now;
    send("WATCHDOG=1");
}

}  // namespace meshgate::control
