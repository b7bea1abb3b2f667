#include "hbone/client_pool.h"

#include "hbone/client_connection.h"

namespace meshgate::hbone {

ClientPool::ClientPool(EventLoop& loop, ProxyCounters& counters, std::function<std::shared_ptr<const TlsContext>()> tls)
    : loop_(loop), counters_(counters), tls_(std::move(tls)) {}

ClientPool::~ClientPool() {
    auto all = std::move(owned_);
    owned_.clear();
    by_key_.clear();
    for (auto& [p, c] : all) c->close();
}

std::unique_ptr<UpstreamLink> ClientPool::open(UpstreamEvents& events, int32_t stream, const SocketAddress& destination,
                                               const std::string& identity, const std::string& authority, const ConnectHeaders& headers) {
    if (identity.empty()) return nullptr;  // a ztunnel whose identity nobody told us cannot be checked
    const std::string key = destination.to_string() + " " + identity;
    ClientConnection* chosen = nullptr;
    for (auto* c : by_key_[key]) {
        if (c->accepts()) {
            chosen = c;
            break;
        }
    }
    if (!chosen) {
        auto c = std::make_unique<ClientConnection>(*this, loop_, counters_, tls_(), destination, identity);
        if (c->failed()) {
            loop_.retire(std::move(c));
            return nullptr;
        }
        chosen = c.get();
        by_key_[key].push_back(chosen);
        owned_.emplace(chosen, std::move(c));
    }
    auto link = std::make_unique<HboneUpstream>(events, stream, authority, headers);
    chosen->add(*link);
    return link;
}

void ClientPool::tick(std::chrono::steady_clock::time_point now) {
    std::vector<ClientConnection*> all;
    for (auto& [p, c] : owned_) all.push_back(p);
    for (auto* c : all) {
        if (c->idle_since(now - idle_release)) c->close();
        else c->tick(now);
    }
}

void ClientPool::closed(ClientConnection& connection) {
    for (auto& [key, list] : by_key_) std::erase(list, &connection);
    auto it = owned_.find(&connection);
    if (it == owned_.end()) return;
    ProxyCounters::add(counters_.pool_connections_closed);
    loop_.retire(std::move(it->second));
    owned_.erase(it);
}

}  // namespace meshgate::hbone
