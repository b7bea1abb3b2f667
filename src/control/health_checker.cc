#include "control/health_checker.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

#include "core/sockaddr.h"
#include "lb/planner.h"

namespace meshgate::control {

namespace {

// "HTTP/1.1 204 No Content" → 204; 0 when `response` does not start with a status line.
int status_code(const std::string& response) {
    if (response.size() < 12 || response.compare(0, 7, "HTTP/1.") != 0 || response[8] != ' ') return 0;
    int code = 0;
    for (size_t i = 9; i < 12; ++i) {
        if (response[i] < '0' || response[i] > '9') return 0;
        code = code * 10 + (response[i] - '0');
    }
    return code;
}

}  // namespace

HealthChecker::HealthChecker() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error(std::string("health checks: epoll: ") + std::strerror(errno));
}

HealthChecker::~HealthChecker() {
    for (auto& t : targets_) {
        if (t.fd >= 0) close(t.fd);
    }
    close(epoll_);
}

MonotonicTime HealthChecker::next_start(const Target& t, MonotonicTime now) {
    const auto& check = checks_[t.check];
    const auto jitter = check.jitter.count() > 0 ? std::uniform_int_distribution<int64_t>(0, check.jitter.count())(random_) : 0;
    return now + check.interval + Duration(jitter);
}

void HealthChecker::schedule(Target& t, size_t index, MonotonicTime at) {
    t.at = at;
    timers_.push({at, index, ++t.seq});
}

void HealthChecker::sync(const LiveState& live, MonotonicTime now) {
    const auto& config = live.config();
    checks_ = config.health_checks;
    std::map<std::string, Target> old;
    for (auto& t : targets_) old.emplace(t.identity, std::move(t));
    targets_.clear();
    for (size_t c = 0; c < checks_.size(); ++c) {
        const Service* service = config.find_service(checks_[c].service);
        if (!service) continue;
        for (uint32_t slot = 0; slot < config.endpoints.size(); ++slot) {
            const auto& e = config.endpoints[slot];
            if (!live.occupied(slot) || e.service != checks_[c].service || !e.address) continue;
            Target t;
            t.identity = live.slot_identity(slot) + " check " + std::to_string(c);
            if (auto it = old.find(t.identity); it != old.end()) {
                t = std::move(it->second);
                old.erase(it);
            } else {
                // First probes spread over one interval.
                t.at = now + Duration(std::uniform_int_distribution<int64_t>(0, checks_[c].interval.count())(random_));
            }
            t.slot = slot;
            t.check = c;
            t.address = *e.address;
            t.port = lb::endpoint_port(*service, e);
            t.spiffe = e.identity;
            targets_.push_back(std::move(t));
        }
    }
    for (auto& [identity, t] : old) {
        if (t.fd >= 0) close(t.fd);
    }
    timers_ = {};
    by_slot_.clear();
    for (size_t i = 0; i < targets_.size(); ++i) {
        auto& t = targets_[i];
        by_slot_.emplace(t.slot, i);
        if (t.fd >= 0) {
            epoll_event ev{};
            ev.events = t.phase == Phase::connecting ? EPOLLOUT : EPOLLIN;
            ev.data.u64 = i;
            epoll_ctl(epoll_, EPOLL_CTL_MOD, t.fd, &ev);
        }
        schedule(t, i, t.at);
    }
}

void HealthChecker::start(Target& t, size_t index, MonotonicTime now) {
    if (checks_[t.check].kind == HealthCheckKind::hbone) {
        if (!remote_) {
            ++failed_;
            t.state.last = "no HBONE proxy to probe with";
            return schedule(t, index, next_start(t, now));
        }
        t.token = next_token_++;
        t.phase = Phase::remote;
        remote_->probe(t.token, t.address, t.port, t.spiffe);
        return schedule(t, index, now + checks_[t.check].timeout);
    }
    sockaddr_storage address;
    const socklen_t length = to_sockaddr(t.address, t.port, address);
    t.fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t.fd < 0) return schedule(t, index, next_start(t, now));  // out of descriptors: try later
    t.response.clear();
    if (connect(t.fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 && errno != EINPROGRESS) {
        const int error = errno;
        close(t.fd);
        t.fd = -1;
        ++failed_;
        t.state.last = std::strerror(error);
        return schedule(t, index, next_start(t, now));
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = index;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, t.fd, &ev);
    t.phase = Phase::connecting;
    schedule(t, index, now + checks_[t.check].timeout);
}

void HealthChecker::on_ready(Target& t, size_t index, MonotonicTime now, LiveState& live, OutlierTracker& outliers) {
    const auto& check = checks_[t.check];
    if (t.phase == Phase::connecting) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(t.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) return finish(t, index, false, std::strerror(error), now, live, outliers);
        if (check.kind == HealthCheckKind::tcp) return finish(t, index, true, "ok", now, live, outliers);
        const std::string host = SocketAddress{t.address, t.port}.to_string();
        const std::string request = "GET " + check.path + " HTTP/1.1\r\nHost: " + host +
                                    "\r\nUser-Agent: meshgate-health/1\r\nAccept: */*\r\nConnection: close\r\n\r\n";
        if (send(t.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
            return finish(t, index, false, "sending the request failed", now, live, outliers);
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = index;
        epoll_ctl(epoll_, EPOLL_CTL_MOD, t.fd, &ev);
        t.phase = Phase::reading;
        return;
    }
    char buffer[512];
    const ssize_t n = recv(t.fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n > 0 && t.response.size() < 64) t.response.append(buffer, static_cast<size_t>(n));
    if (n > 0 && t.response.size() < 12) return;  // the status line is still coming
    const int code = status_code(t.response);
    if (code == 0) return finish(t, index, false, n == 0 ? "closed without an HTTP status line" : "not an HTTP response", now, live, outliers);
    const bool ok = code >= 200 && code < 300;
    finish(t, index, ok, ok ? "ok" : "HTTP " + std::to_string(code), now, live, outliers);
}

void HealthChecker::finish(Target& t, size_t index, bool ok, std::string what, MonotonicTime now, LiveState& live,
                           OutlierTracker& outliers) {
    if (t.fd >= 0) close(t.fd);  // also leaves the epoll set
    t.fd = -1;
    t.phase = Phase::idle;
    t.token = 0;  // a remote answer after this one (a late one) is not its
    const auto& check = checks_[t.check];
    auto& s = t.state;
    s.last = std::move(what);
    if (ok) {
        ++ok_;
        ++s.consecutive_successes;
        s.consecutive_failures = 0;
        if (s.down && s.consecutive_successes >= check.healthy_threshold) {
            s.down = false;
            live.set_check_down(t.slot, false);
        }
        outliers.on_active_check_success(t.slot, live);
    } else {
        s.last == "timeout" ? ++timed_out_ : ++failed_;
        ++s.consecutive_failures;
        s.consecutive_successes = 0;
        if (!s.down && s.consecutive_failures >= check.unhealthy_threshold) {
            s.down = true;
            live.set_check_down(t.slot, true);
        }
    }
    schedule(t, index, next_start(t, now));
}

void HealthChecker::poll(MonotonicTime now, LiveState& live, OutlierTracker& outliers) {
    epoll_event events[64];
    const int n = epoll_wait(epoll_, events, 64, 0);
    for (int i = 0; i < n; ++i) {
        const size_t index = events[i].data.u64;
        if (index < targets_.size() && targets_[index].fd >= 0) on_ready(targets_[index], index, now, live, outliers);
    }
    if (remote_) {
        for (auto& r : remote_->results()) {
            for (size_t i = 0; i < targets_.size(); ++i) {
                auto& t = targets_[i];
                if (t.phase == Phase::remote && t.token == r.token) {
                    finish(t, i, r.ok, std::move(r.what), now, live, outliers);
                    break;
                }
            }
        }
    }
    while (!timers_.empty() && timers_.top().at <= now) {
        const Timer timer = timers_.top();
        timers_.pop();
        if (timer.target >= targets_.size()) continue;
        auto& t = targets_[timer.target];
        if (timer.seq != t.seq) continue;  // rescheduled since
        if (t.phase == Phase::idle) start(t, timer.target, now);
        else finish(t, timer.target, false, "timeout", now, live, outliers);
    }
}

std::optional<CheckState> HealthChecker::state(uint32_t slot) const {
    auto it = by_slot_.find(slot);
    if (it == by_slot_.end()) return std::nullopt;
    return targets_[it->second].state;
}

uint64_t HealthChecker::probes(const std::string& result) const {
    if (result == "ok") return ok_;
    if (result == "timeout") return timed_out_;
    return failed_;
}

}  // namespace meshgate::control
