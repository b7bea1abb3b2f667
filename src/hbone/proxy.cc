#include "hbone/proxy.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <random>
#include <stdexcept>
#include <thread>
#include <map>
#include <unordered_map>

#include "core/sockaddr.h"
#include "hbone/client_pool.h"
#include "hbone/event_loop.h"
#include "hbone/gateway_listeners.h"
#include "hbone/server_connection.h"
#include "hbone/tcp_downstream.h"

namespace meshgate::hbone {

namespace {

constexpr auto tick_period = std::chrono::milliseconds(100);
constexpr size_t max_connections_per_thread = 16384;
constexpr int tls_check_ticks = 10;  // the TLS files are looked at every second
constexpr int accepts_per_event = 1;

TlsFiles files_of(const HboneConfig& c) { return {c.ca_bundle, c.cert, c.key}; }

// What changes when a file is replaced or rewritten.
std::string signature(const TlsFiles& files) {
    std::string s;
    for (const auto* path : {&files.ca_bundle, &files.cert, &files.key}) {
        struct stat st {};
        s += *path;
        if (stat(path->c_str(), &st) == 0) {
            s += ':' + std::to_string(st.st_ino) + ':' + std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec) + '.' +
                 std::to_string(st.st_mtim.tv_nsec);
        }
        s += ';';
    }
    return s;
}

int listen_on(const SocketAddress& address) {
    sockaddr_storage a;
    const socklen_t length = to_sockaddr(address, a);
    const int fd = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("hbone.listen: socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&a), length) != 0 || listen(fd, 1024) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw std::runtime_error("hbone.listen: " + address.to_string() + ": " + why);
    }
    return fd;
}

// Each connection takes a descriptor, and each stream one more: the soft limit (often 1024)
// would cap the proxy long before memory does.
void raise_descriptor_limit() {
    rlimit l{};
    if (getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur < l.rlim_max) {
        l.rlim_cur = l.rlim_max;
        setrlimit(RLIMIT_NOFILE, &l);
    }
}

}  // namespace

// One event loop: its listener, its connections, its counters.
class Proxy::Thread final : public ConnectionOwner, public EventLoop::Handler {
public:
    Thread(Proxy& proxy, int listen_fd, bool first)
        : proxy_(proxy), listen_fd_(listen_fd), first_(first), catalog_(proxy.catalog()),
          random_(std::random_device{}()) {
        loop_.watch(listen_fd_, EPOLLIN, this);
        follow_gateways();
    }
    ~Thread() override {
        stop();
        // Ending a connection unlists it: end them from a list of their own.
        auto all = std::move(connections_);
        connections_.clear();
        for (auto& [p, c] : all) c->abort();
        auto plain = std::move(downstreams_);
        downstreams_.clear();
        for (auto& [p, d] : plain) d->abort();
        probes_.reset();
        loop_.free_retired();
        all.clear();
    }

    void start(const cpu_set_t* cpus) {
        thread_ = std::thread([this] { loop_.run([this] { tick(); }, tick_period); });
        if (cpus) pthread_setaffinity_np(thread_.native_handle(), sizeof *cpus, cpus);
    }
    void stop() {
        loop_.stop();
        if (thread_.joinable()) thread_.join();
    }

    const ProxyCounters& counters_view() const { return counters_; }
    size_t connections() const { return open_.load(std::memory_order_relaxed); }
    size_t gateway_connections() const { return downstreams_open_.load(std::memory_order_relaxed); }
    size_t gateway_listeners() const { return listeners_open_.load(std::memory_order_relaxed); }

    // The listener, shared by every thread: one connection per readiness, so that a thread
    // busy with handshakes leaves the next to one that is waiting (level-triggered epoll
    // reports the rest again).
    void on_events(uint32_t) override {
        for (int i = 0; i < accepts_per_event; ++i) {
            sockaddr_storage peer{};
            socklen_t length = sizeof peer;
            const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;  // EAGAIN, or a connection that died in the queue
            if (connections_.size() >= max_connections_per_thread) {
                ProxyCounters::add(counters_.connections_refused);
                ::close(fd);
                continue;
            }
            auto c = std::make_unique<ServerConnection>(*this, fd, proxy_.tls()->new_connection(),
                                                        from_sockaddr(peer).value_or(SocketAddress{}));
            ServerConnection* key = c.get();
            connections_.emplace(key, std::move(c));
            open_.store(connections_.size(), std::memory_order_relaxed);
        }
    }

    // ConnectionOwner
    EventLoop& loop() override { return loop_; }
    ProxyCounters& counters() override { return counters_; }
    const Catalog& catalog() override { return *catalog_; }
    uint64_t stream_hash() override { return random_(); }
    ClientPool& pool() override { return pool_; }
    void connect_outcome(uint32_t endpoint, lb::ConnectResult result) override {
        std::lock_guard lock(proxy_.outcomes_mutex_);
        if (proxy_.outcomes_.size() >= max_outcomes) {
            proxy_.outcomes_dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        proxy_.outcomes_.emplace_back(endpoint, result);
    }
    void closed(TcpDownstream& connection) override {
        auto it = downstreams_.find(&connection);
        if (it == downstreams_.end()) return;
        loop_.retire(std::move(it->second));
        downstreams_.erase(it);
        downstreams_open_.store(downstreams_.size(), std::memory_order_relaxed);
    }
    void closed(ServerConnection& connection) override {
        auto it = connections_.find(&connection);
        if (it == connections_.end()) return;
        loop_.retire(std::move(it->second));
        connections_.erase(it);
        open_.store(connections_.size(), std::memory_order_relaxed);
    }

private:
    // Health probes asked for since the last tick (the first thread runs them all).
    void run_probes(ServerConnection::Clock::time_point now) {
        std::vector<ProbeRequest> requests;
        {
            std::lock_guard lock(proxy_.probes_mutex_);
            requests.swap(proxy_.probe_requests_);
        }
        for (const auto& r : requests) probes_->start(r);
        probes_->tick(now);
    }

    // Gateway role: a plain TCP connection to a forwarding = "hbone" VIP, for the service that
    // has that VIP and port now.
    void accept_plain(int fd, const SocketAddress& client, const SocketAddress& vip) {
        const Config& config = catalog_->config();
        std::optional<ConnectDecision> decision;
        for (uint32_t i = 0; i < config.services.size() && !decision; ++i) {
            const auto& s = config.services[i];
            if (s.forwarding != Forwarding::hbone || std::find(s.vips.begin(), s.vips.end(), vip.address) == s.vips.end()) continue;
            for (const auto& p : s.ports) {
                if (p.port == vip.port && p.protocol == Protocol::tcp) {
                    decision = ConnectDecision{200, "", i, p.port, p.target_port, std::nullopt, vip};
                    break;
                }
            }
        }
        if (!decision || connections_.size() + downstreams_.size() >= max_connections_per_thread) {
            ProxyCounters::add(counters_.connections_refused);
            ::close(fd);
            return;
        }
        auto d = std::make_unique<TcpDownstream>(*this, fd, client, *decision);
        if (d->ended()) return;
        TcpDownstream* key = d.get();
        downstreams_.emplace(key, std::move(d));
        downstreams_open_.store(downstreams_.size(), std::memory_order_relaxed);
    }

    // The gateway listeners follow the catalog's forwarding = "hbone" services.
    void follow_gateways() {
        for (const auto& e : gateways_.follow(catalog_->config())) std::cerr << "meshgated: hbone: gateway listener " << e << "\n";
        listeners_open_.store(gateways_.size(), std::memory_order_relaxed);
    }

    // Between rounds of events, so that one request never sees two catalogs.
    void tick() {
        if (proxy_.catalog_generation_.load(std::memory_order_acquire) != catalog_->generation()) {
            catalog_ = proxy_.catalog();
            follow_gateways();
        }
        if (first_) run_probes(ServerConnection::Clock::now());
        if (first_ && ++ticks_ % tls_check_ticks == 0 && catalog_->config().hbone) proxy_.refresh_tls(*catalog_->config().hbone);
        const auto now = ServerConnection::Clock::now();
        std::vector<ServerConnection*> all;
        all.reserve(connections_.size());
        for (auto& [p, c] : connections_) all.push_back(p);
        for (auto* c : all) c->tick(now);  // a tick may end (and unlist) a connection
        std::vector<TcpDownstream*> plain;
        plain.reserve(downstreams_.size());
        for (auto& [p, d] : downstreams_) plain.push_back(p);
        for (auto* d : plain) d->tick(now);
        pool_.tick(now);
    }

    Proxy& proxy_;
    EventLoop loop_;
    int listen_fd_;
    bool first_;  // the first thread also watches the TLS files and makes the health probes
    uint64_t ticks_ = 0;
    std::shared_ptr<const Catalog> catalog_;
    std::mt19937_64 random_;
    ProxyCounters counters_;
    ClientPool pool_{loop_, counters_, [this] { return proxy_.client_tls(); }};
    std::unique_ptr<HealthProbes> probes_ = std::make_unique<HealthProbes>(loop_, pool_, [this](ProbeResult r) {
        std::lock_guard lock(proxy_.probes_mutex_);
        proxy_.probe_results_.push_back(std::move(r));
    });
    std::unordered_map<ServerConnection*, std::unique_ptr<ServerConnection>> connections_;
    std::atomic<size_t> open_{0};
    GatewayListeners gateways_{loop_, [this](int fd, const SocketAddress& client, const SocketAddress& vip) { accept_plain(fd, client, vip); }};
    std::unordered_map<TcpDownstream*, std::unique_ptr<TcpDownstream>> downstreams_;
    std::atomic<size_t> downstreams_open_{0}, listeners_open_{0};
    std::thread thread_;
};

Proxy::Proxy(const HboneConfig& config, std::shared_ptr<const Catalog> catalog) : catalog_(std::move(catalog)) {
    catalog_generation_ = catalog_->generation();
    const TlsFiles files = files_of(config);
    tls_signature_ = signature(files);
    tls_ = TlsContext::load(TlsContext::Role::server, files);
    client_tls_ = TlsContext::load(TlsContext::Role::client, files);
    raise_descriptor_limit();
    listen_fd_ = listen_on(config.listen);
    try {
        for (uint32_t i = 0; i < config.threads; ++i) threads_.push_back(std::make_unique<Thread>(*this, listen_fd_, i == 0));
    } catch (...) {
        threads_.clear();
        ::close(listen_fd_);
        throw;
    }
}

Proxy::~Proxy() {
    stop();
    threads_.clear();
    ::close(listen_fd_);
}

void Proxy::start(const cpu_set_t* cpus) {
    for (auto& t : threads_) t->start(cpus);
}

void Proxy::stop() {
    for (auto& t : threads_) t->stop();
}

void Proxy::update(std::shared_ptr<const Catalog> catalog) {
    const HboneConfig* config = catalog->config().hbone ? &*catalog->config().hbone : nullptr;
    {
        std::lock_guard lock(mutex_);
        catalog_ = catalog;
        catalog_generation_.store(catalog_->generation(), std::memory_order_release);
    }
    if (config) refresh_tls(*config);  // a reload may name other files
}

std::shared_ptr<const Catalog> Proxy::catalog() const {
    std::lock_guard lock(mutex_);
    return catalog_;
}

std::shared_ptr<const TlsContext> Proxy::tls() const {
    std::lock_guard lock(mutex_);
    return tls_;
}

void Proxy::refresh_tls(const HboneConfig& config) {
    const TlsFiles files = files_of(config);
    const std::string now = signature(files);
    {
        std::lock_guard lock(mutex_);
        if (now == tls_signature_) return;
        tls_signature_ = now;  // tried once per change, not once per check
    }
    try {
        auto next = TlsContext::load(TlsContext::Role::server, files);
        auto next_client = TlsContext::load(TlsContext::Role::client, files);
        std::lock_guard lock(mutex_);
        tls_ = std::move(next);
        client_tls_ = std::move(next_client);
        tls_reloads_.fetch_add(1, std::memory_order_relaxed);
        std::cerr << "meshgated: hbone: TLS files read again (" << files.cert << "); new connections use them\n";
    } catch (const TlsError& e) {
        tls_reload_failures_.fetch_add(1, std::memory_order_relaxed);
        std::cerr << "meshgated: hbone: keeping the TLS files in use: " << e.what() << "\n";
    }
}

void Proxy::probe(ProbeRequest request) {
    std::lock_guard lock(probes_mutex_);
    probe_requests_.push_back(std::move(request));
}

std::vector<Proxy::ProbeResult> Proxy::take_probe_results() {
    std::vector<ProbeResult> taken;
    std::lock_guard lock(probes_mutex_);
    taken.swap(probe_results_);
    return taken;
}

std::vector<std::pair<uint32_t, lb::ConnectResult>> Proxy::take_outcomes() {
    std::vector<std::pair<uint32_t, lb::ConnectResult>> taken;
    std::lock_guard lock(outcomes_mutex_);
    taken.swap(outcomes_);
    return taken;
}

std::shared_ptr<const TlsContext> Proxy::client_tls() const {
    std::lock_guard lock(mutex_);
    return client_tls_;
}

std::vector<std::string> Proxy::identities() const { return tls()->identities(); }

Proxy::Totals Proxy::totals() const {
    Totals t;
    t.handshake_failures.assign(static_cast<size_t>(HandshakeFailure::count_), 0);
    auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    for (const auto& thread : threads_) {
        const ProxyCounters& c = thread->counters_view();
        t.connections += get(c.connections);
        t.connections_open += thread->connections();
        t.gateway_connections_open += thread->gateway_connections();
        t.gateway_listeners = std::max<uint64_t>(t.gateway_listeners, thread->gateway_listeners());
        t.connections_refused += get(c.connections_refused);
        t.tunnels += get(c.tunnels);
        for (size_t i = 0; i < t.handshake_failures.size(); ++i) t.handshake_failures[i] += get(c.handshake_failures[i]);
        t.streams += get(c.streams);
        t.streams_open += get(c.streams) - std::min(get(c.streams), get(c.streams_closed));
        t.answered_400 += get(c.answered_400);
        t.answered_401 += get(c.answered_401);
        t.answered_503 += get(c.answered_503);
        t.answered_other += get(c.answered_other);
        t.upstream_connect_failures += get(c.upstream_connect_failures);
        t.bytes_to_upstream += get(c.bytes_to_upstream);
        t.bytes_from_upstream += get(c.bytes_from_upstream);
        t.protocol_errors += get(c.protocol_errors);
        t.keepalive_timeouts += get(c.keepalive_timeouts);
        t.pool_connections += get(c.pool_connections);
        t.pool_connections_open += get(c.pool_connections) - std::min(get(c.pool_connections), get(c.pool_connections_closed));
        t.pool_connect_failures += get(c.pool_connect_failures);
        t.pool_handshake_failures += get(c.pool_handshake_failures);
        t.pool_refused_streams += get(c.pool_refused_streams);
        t.double_hbone_streams += get(c.double_hbone_streams);
        t.gateway_connections += get(c.gateway_connections);
    }
    t.tls_reloads = tls_reloads_.load(std::memory_order_relaxed);
    t.tls_reload_failures = tls_reload_failures_.load(std::memory_order_relaxed);
    t.outcomes_dropped = outcomes_dropped_.load(std::memory_order_relaxed);
    return t;
}

const char* to_string(HandshakeFailure f) {
    switch (f) {
        case HandshakeFailure::bad_certificate: return "bad_certificate";
        case HandshakeFailure::expired_certificate: return "expired_certificate";
        case HandshakeFailure::no_certificate: return "no_certificate";
        case HandshakeFailure::no_alpn: return "no_alpn";
        case HandshakeFailure::no_identity: return "no_identity";
        case HandshakeFailure::wrong_trust_domain: return "wrong_trust_domain";
        case HandshakeFailure::not_tls: return "not_tls";
        case HandshakeFailure::timeout: return "timeout";
        case HandshakeFailure::count_: break;
    }
    return "?";
}

}  // namespace meshgate::hbone
