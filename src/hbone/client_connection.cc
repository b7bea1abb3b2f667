#include "hbone/client_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/sockaddr.h"
#include "hbone/client_pool.h"

namespace meshgate::hbone {

namespace {

constexpr auto handshake_timeout = std::chrono::seconds(10);
constexpr size_t output_limit = 256 << 10;
thread_local uint8_t read_buffer[64 << 10];

nghttp2_nv header(const char* name, const std::string& value) {
    return {reinterpret_cast<uint8_t*>(const_cast<char*>(name)), reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
            std::strlen(name), value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

// nghttp2's client callbacks, with the connection as user data and each stream's
// HboneUpstream as stream user data.
struct ClientCallbacks {
    static ClientConnection& self(void* user) { return *static_cast<ClientConnection*>(user); }
    static HboneUpstream* link(nghttp2_session* session, int32_t id) {
        return static_cast<HboneUpstream*>(nghttp2_session_get_stream_user_data(session, id));
    }

    static int header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name, size_t name_length,
                      const uint8_t* value, size_t value_length, uint8_t, void*) {
        auto* l = link(session, frame->hd.stream_id);
        if (!l || frame->hd.type != NGHTTP2_HEADERS || name_length != 7 || std::memcmp(name, ":status", 7) != 0) return 0;
        int status = 0;
        for (size_t i = 0; i < value_length && i < 3; ++i) status = status * 10 + (value[i] - '0');
        l->status_ = status;
        return 0;
    }

    static int frame_received(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
        auto& me = self(user);
        if (frame->hd.type == NGHTTP2_GOAWAY) {
            me.goaway_ = true;  // no new stream here; the pool opens another connection
            return 0;
        }
        auto* l = link(session, frame->hd.stream_id);
        if (!l) return 0;
        if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_RESPONSE && !l->answered_) {
            l->answered_ = true;
            me.touched(*l);
            if (l->status_ != 200) {
                // A refusal: counted, and the server stream answers 503 (the owner releases us).
                ProxyCounters::add(me.counters_.pool_refused_streams);
                l->events_.upstream_connected(l->owner_stream_, l->status_ == 401 ? UpstreamEvents::Outcome::denied
                                                                                  : UpstreamEvents::Outcome::failed);
                return 0;
            }
            l->events_.upstream_connected(l->owner_stream_, UpstreamEvents::Outcome::connected);
        }
        if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
            l->remote_done_ = true;
            me.touched(*l);
            l->resume();
        }
        return 0;
    }

    static int data_chunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data, size_t length, void* user) {
        auto* l = link(session, id);
        if (!l) {
            nghttp2_session_consume(session, id, length);  // a cancelled stream's leftovers
            return 0;
        }
        l->from_remote.append(std::span(data, length));
        ProxyCounters::add(self(user).counters_.bytes_from_upstream, length);
        self(user).touched(*l);
        l->resume();
        return 0;
    }

    static int stream_closed(nghttp2_session* session, int32_t id, uint32_t error, void* user) {
        auto& me = self(user);
        auto* l = link(session, id);
        me.streams_.erase(id);
        me.last_stream_ = ClientConnection::Clock::now();
        if (!l) return 0;
        l->connection_ = nullptr;
        l->id_ = -1;
        me.touched(*l);
        if (!l->answered_) {
            l->answered_ = true;
            l->events_.upstream_connected(l->owner_stream_, UpstreamEvents::Outcome::failed);
        } else if (error != NGHTTP2_NO_ERROR || !l->remote_done_) {
            l->failed_ = true;
            l->events_.upstream_failed(l->owner_stream_);
        }
        return 0;
    }

    // DATA towards the ztunnel, from what the server stream's client sent.
    static ssize_t read_link(nghttp2_session* session, int32_t id, uint8_t* buffer, size_t length, uint32_t* flags,
                             nghttp2_data_source*, void* user) {
        auto* l = link(session, id);
        if (!l) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        const size_t n = std::min(length, l->to_remote.size());
        if (n) {
            std::memcpy(buffer, l->to_remote.front().data(), n);
            l->to_remote.pop(n);
            ProxyCounters::add(self(user).counters_.bytes_to_upstream, n);
            if (l->wants_writable_) self(user).touched(*l);  // told after this round (upstream_writable)
        }
        if (l->to_remote.empty() && l->write_shut_) *flags |= NGHTTP2_DATA_FLAG_EOF;
        else if (n == 0) return NGHTTP2_ERR_DEFERRED;
        return static_cast<ssize_t>(n);
    }
};

HboneUpstream::HboneUpstream(UpstreamEvents& events, int32_t owner_stream, std::string authority, ConnectHeaders headers)
    : events_(events), owner_stream_(owner_stream), authority_(std::move(authority)), headers_(std::move(headers)),
      deadline_(Clock::now() + connect_timeout) {}

HboneUpstream::~HboneUpstream() {
    if (!connection_) return;
    ClientConnection& c = *connection_;
    if (id_ > 0) {
        nghttp2_session_set_stream_user_data(c.session_, id_, nullptr);
        nghttp2_submit_rst_stream(c.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
        c.streams_.erase(id_);
        c.pump();
    } else {
        c.pending_.erase(std::remove(c.pending_.begin(), c.pending_.end(), this), c.pending_.end());
    }
}

size_t HboneUpstream::write(std::span<const uint8_t> bytes) {
    if (!connection_ || id_ <= 0 || write_shut_) return 0;
    const size_t n = std::min(bytes.size(), buffer - std::min(buffer, to_remote.size()));
    if (n == 0) {
        wants_writable_ = true;
        return 0;
    }
    to_remote.append(bytes.first(n));
    nghttp2_session_resume_data(connection_->session_, id_);
    connection_->pump();
    return n;
}

void HboneUpstream::shutdown_write() {
    write_shut_ = true;
    if (connection_ && id_ > 0) {
        nghttp2_session_resume_data(connection_->session_, id_);
        connection_->pump();
    }
}

void HboneUpstream::resume() {
    size_t consumed = 0;
    while (!from_remote.empty()) {
        const size_t room = events_.upstream_room(owner_stream_);
        if (room == 0) break;
        const auto bytes = from_remote.front();
        const size_t n = events_.upstream_data(owner_stream_, bytes.first(std::min(room, bytes.size())));
        if (n == 0) break;
        from_remote.pop(n);
        consumed += n;
    }
    if (consumed && connection_ && id_ > 0) {
        nghttp2_session_consume(connection_->session_, id_, consumed);  // the window goes back only now
        connection_->pump();
    }
    if (from_remote.empty() && remote_done_ && !failed_) {
        failed_ = true;  // reported once
        events_.upstream_closed(owner_stream_);
    }
}

ClientConnection::ClientConnection(ClientPool& pool, EventLoop& loop, ProxyCounters& counters, std::shared_ptr<const TlsContext> tls,
                                   const SocketAddress& destination, std::string identity)
    : pool_(pool), loop_(loop), counters_(counters), tls_context_(std::move(tls)), destination_(destination),
      identity_(std::move(identity)), deadline_(Clock::now() + handshake_timeout) {
    ProxyCounters::add(counters_.pool_connections);
    if (!start()) {
        ProxyCounters::add(counters_.pool_connect_failures);
        closed_ = true;  // the pool sees accepts() false and drops it
    }
}

ClientConnection::~ClientConnection() {
    if (session_) nghttp2_session_del(session_);
    if (tls_) {
        loop_.forget(fd_);
    } else if (fd_ >= 0) {
        loop_.forget(fd_);
        ::close(fd_);
    }
}

bool ClientConnection::start() {
    sockaddr_storage a;
    const socklen_t length = to_sockaddr(destination_, a);
    fd_ = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&a), length) != 0 && errno != EINPROGRESS) return false;
    watched_ = EPOLLOUT;
    loop_.watch(fd_, watched_, this);
    return true;
}

bool ClientConnection::accepts() const {
    return !closed_ && !goaway_ && streams_.size() + pending_.size() < ClientPool::max_streams;
}

void ClientConnection::add(HboneUpstream& link) {
    link.connection_ = this;
    last_stream_ = Clock::now();
    if (closed_) {
        link.connection_ = nullptr;
        link.answered_ = true;
        link.events_.upstream_connected(link.owner_stream_, UpstreamEvents::Outcome::failed);
        return;
    }
    if (!secure_) {
        pending_.push_back(&link);
        return;
    }
    submit(link);
    pump();
}

void ClientConnection::submit(HboneUpstream& link) {
    std::vector<nghttp2_nv> nva = {header(":method", "CONNECT"), header(":authority", link.authority_)};
    if (!link.headers_.forwarded.empty()) nva.push_back(header("forwarded", link.headers_.forwarded));
    if (!link.headers_.baggage.empty()) nva.push_back(header("baggage", link.headers_.baggage));
    if (!link.headers_.traceparent.empty()) nva.push_back(header("traceparent", link.headers_.traceparent));
    nghttp2_data_provider body{};
    body.read_callback = ClientCallbacks::read_link;
    const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &body, &link);
    if (id < 0) {
        link.connection_ = nullptr;
        link.answered_ = true;
        link.events_.upstream_connected(link.owner_stream_, UpstreamEvents::Outcome::failed);
        return;
    }
    link.id_ = id;
    streams_[id] = &link;
}

void ClientConnection::on_events(uint32_t events) {
    if (closed_) return;
    if (!connected_) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0 || !(events & EPOLLOUT)) {
            ProxyCounters::add(counters_.pool_connect_failures);
            return close();
        }
        connected_ = true;
        SSL* ssl = tls_context_->new_connection();
        SSL_set_fd(ssl, fd_);
        tls_ = std::make_unique<TlsSocket>(fd_, ssl);  // owns the socket from now on
    }
    if (!secure_) return handshake();
    read();
}

void ClientConnection::handshake() {
    const auto status = tls_->handshake();
    if (status == TlsSocket::Status::again) {
        watched_ = tls_->wanted_events();
        loop_.change(fd_, watched_, this);
        return;
    }
    if (status != TlsSocket::Status::ok || check_server(tls_->ssl(), {identity_}) != PeerVerdict::ok) {
        ProxyCounters::add(counters_.pool_handshake_failures);
        return close();
    }
    secure_ = true;
    begin_session();
}

void ClientConnection::begin_session() {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, ClientCallbacks::header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, ClientCallbacks::frame_received);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, ClientCallbacks::data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, ClientCallbacks::stream_closed);
    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    nghttp2_option_set_no_auto_window_update(option, 1);  // windows go back as the server streams take bytes
    nghttp2_session_client_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, ConnectSession::stream_window},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, ConnectSession::max_frame_size},
    };
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, ConnectSession::connection_window);
    auto waiting = std::move(pending_);
    pending_.clear();
    for (auto* link : waiting) submit(*link);
    pump();
}

void ClientConnection::read() {
    busy_ = true;  // the callbacks' writes and windows wait for pump(): no mem_send inside mem_recv
    for (int i = 0; i < 16; ++i) {
        size_t n = 0;
        const auto status = tls_->read(read_buffer, n);
        if (status == TlsSocket::Status::again) {
            tls_wants_write_ = tls_->wanted_events() == EPOLLOUT;
            break;
        }
        if (status != TlsSocket::Status::ok || nghttp2_session_mem_recv(session_, read_buffer, n) < 0) {
            busy_ = false;
            return close();
        }
    }
    busy_ = false;
    pump();
}

bool ClientConnection::flush() {
    while (out_.size() < output_limit) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n <= 0) break;
        out_.append(std::span(data, static_cast<size_t>(n)));
    }
    tls_wants_write_ = false;
    while (!out_.empty()) {
        size_t n = 0;
        const auto status = tls_->write(out_.front(), n);
        if (status == TlsSocket::Status::again) {
            tls_wants_write_ = true;
            return true;
        }
        if (status != TlsSocket::Status::ok) return false;
        out_.pop(n);
    }
    return true;
}

void ClientConnection::pump() {
    if (closed_ || !session_) return;
    if (busy_) {
        pump_again_ = true;
        return;
    }
    busy_ = true;
    do {
        pump_again_ = false;
        if (!flush()) {
            busy_ = false;
            return close();
        }
        if (!tls_wants_write_ && out_.empty() && nghttp2_session_want_write(session_)) pump_again_ = true;
        // Streams whose buffer has room again hear of it (they may write at once: another round).
        std::vector<HboneUpstream*> writable;
        for (auto& [id, l] : streams_) {
            if (l->wants_writable_ && l->to_remote.size() < HboneUpstream::buffer) {
                l->wants_writable_ = false;
                writable.push_back(l);
            }
        }
        for (auto* l : writable) l->events_.upstream_writable(l->owner_stream_);
    } while (pump_again_ && !closed_);
    busy_ = false;
    // The owners of the streams this round touched move what it brought.
    auto owners = std::move(touched_);
    touched_.clear();
    std::sort(owners.begin(), owners.end());
    owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
    for (auto* o : owners) o->upstream_pump();
    if (closed_) return;
    if (goaway_ && streams_.empty() && pending_.empty()) return close();
    watch();
}

void ClientConnection::watch() {
    const uint32_t events = EPOLLIN | (tls_wants_write_ ? uint32_t{EPOLLOUT} : 0u);
    if (events != watched_) {
        loop_.change(fd_, events, this);
        watched_ = events;
    }
}

void ClientConnection::tick(Clock::time_point now) {
    if (!closed_ && !secure_ && now >= deadline_) {
        ProxyCounters::add(counters_.pool_handshake_failures);
        close();
    }
}

void ClientConnection::close() {
    if (ended_) return;
    ended_ = closed_ = true;
    fail_all();
    if (tls_) tls_->shutdown();
    pool_.closed(*this);
}

void ClientConnection::fail_all() {
    std::vector<HboneUpstream*> links = std::move(pending_);
    pending_.clear();
    for (auto& [id, l] : streams_) links.push_back(l);
    streams_.clear();
    std::vector<UpstreamEvents*> owners;
    for (auto* l : links) {
        l->connection_ = nullptr;
        l->id_ = -1;
        owners.push_back(&l->events_);
        if (!l->answered_) {
            l->answered_ = true;
            l->events_.upstream_connected(l->owner_stream_, UpstreamEvents::Outcome::failed);
        } else if (!l->remote_done_) {
            l->failed_ = true;
            l->events_.upstream_failed(l->owner_stream_);
        }
    }
    std::sort(owners.begin(), owners.end());
    owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
    for (auto* o : owners) o->upstream_pump();
}

}  // namespace meshgate::hbone
