#include "hbone/client_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "hbone/client_connection.h"

namespace meshgate::hbone {

namespace {

// A header naming bytes that outlive the request's submission: literals, or the link's strings
// (a string_view, so that no temporary std::string can slip in).
nghttp2_nv header(std::string_view name, std::string_view value) {
    return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())), reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
            name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

// nghttp2's client callbacks, with the session as user data and each stream's HboneUpstream
// as stream user data.
struct ClientCallbacks {
    static ClientSession& self(void* user) { return *static_cast<ClientSession*>(user); }
    static HboneUpstream* link(nghttp2_session* session, int32_t id) {
        return static_cast<HboneUpstream*>(nghttp2_session_get_stream_user_data(session, id));
    }

    static int header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name, size_t name_length,
                      const uint8_t* value, size_t value_length, uint8_t, void*) {
        auto* l = link(session, frame->hd.stream_id);
        if (!l || frame->hd.type != NGHTTP2_HEADERS || name_length != 7 || std::memcmp(name, ":status", 7) != 0) return 0;
        int status = 0;
        for (size_t i = 0; i < value_length && i < 3; ++i) {
            if (value[i] < '0' || value[i] > '9') return 0;
            status = status * 10 + (value[i] - '0');
        }
        l->status_ = status;
        return 0;
    }

    static int frame_received(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
        auto& me = self(user);
        if (frame->hd.type == NGHTTP2_GOAWAY) {
            me.goaway_ = true;  // no new stream here; the pool opens another connection
            return 0;
        }
        if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK)) {
            me.awaiting_ping_ = false;
            return 0;
        }
        auto* l = link(session, frame->hd.stream_id);
        if (!l) return 0;
        // A final answer (an informational 1xx is not one).
        if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_RESPONSE && !l->answered_ && l->status_ >= 200) {
            l->answered_ = true;
            me.touched(*l);
            if (l->status_ != 200) {
                // Refused: counted, and the server stream answers 503 (its owner releases the link).
                ProxyCounters::add(me.counters_.pool_refused_streams);
                l->events_.upstream_connected(l->owner_stream_, l->status_ == 401 ? UpstreamEvents::Outcome::denied
                                                                                  : UpstreamEvents::Outcome::failed);
                return 0;
            }
            l->events_.upstream_connected(l->owner_stream_, UpstreamEvents::Outcome::connected);
        }
        if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
            l->answered_) {
            l->remote_done_ = true;
            me.touched(*l);
            l->resume();
        }
        return 0;
    }

    static int data_chunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data, size_t length, void* user) {
        auto* l = link(session, id);
        if (!l || !l->answered_ || l->status_ != 200) {
            nghttp2_session_consume(session, id, length);  // a cancelled or refused stream's bytes
            return 0;
        }
        ProxyCounters::add(self(user).counters_.bytes_from_upstream, length);
        self(user).touched(*l);
        std::span<const uint8_t> rest(data, length);
        if (l->from_remote.empty()) {  // straight to the owner when nothing waits before: one copy fewer
            const size_t n = l->deliver(rest);
            if (n) nghttp2_session_consume(session, id, n);
            rest = rest.subspan(n);
        }
        if (!rest.empty()) l->from_remote.append(rest);
        l->resume();
        return 0;
    }

    static int stream_closed(nghttp2_session* session, int32_t id, uint32_t error, void* user) {
        auto& me = self(user);
        auto* l = link(session, id);
        me.streams_.erase(id);
        me.last_stream_ = std::chrono::steady_clock::now();
        if (!l) return 0;
        l->detach();
        me.touched(*l);
        if (!l->answered_) {
            l->answered_ = true;
            l->events_.upstream_connected(l->owner_stream_, UpstreamEvents::Outcome::failed);
        } else if (l->status_ == 200 && (error != NGHTTP2_NO_ERROR || !l->remote_done_) && !l->over_) {
            l->over_ = true;
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
    if (session_) session_->forget(*this);
    else if (waiting_on_) waiting_on_->unqueue(*this);
}

void HboneUpstream::detach() {
    session_ = nullptr;
    id_ = -1;
}

size_t HboneUpstream::write(std::span<const uint8_t> bytes) {
    if (!session_ || write_shut_) return 0;
    const size_t n = std::min(bytes.size(), buffer - std::min(buffer, to_remote.size()));
    if (n == 0) {
        wants_writable_ = true;
        return 0;
    }
    to_remote.append(bytes.first(n));
    nghttp2_session_resume_data(session_->session_, id_);
    session_->wake();
    return n;
}

void HboneUpstream::shutdown_write() {
    write_shut_ = true;
    if (!session_) return;
    nghttp2_session_resume_data(session_->session_, id_);
    session_->wake();
}

size_t HboneUpstream::deliver(std::span<const uint8_t> bytes) {
    size_t taken = 0;
    while (taken < bytes.size()) {
        const size_t room = events_.upstream_room(owner_stream_);
        if (room == 0) break;
        const size_t n = events_.upstream_data(owner_stream_, bytes.subspan(taken, std::min(room, bytes.size() - taken)));
        if (n == 0) break;
        taken += n;
    }
    return taken;
}

void HboneUpstream::resume() {
    size_t consumed = 0;
    if (!from_remote.empty()) {
        consumed = deliver(from_remote.front());
        from_remote.pop(consumed);
    }
    if (consumed && session_) {
        nghttp2_session_consume(session_->session_, id_, consumed);  // the window goes back only now
        session_->wake();
    }
    if (from_remote.empty() && remote_done_ && !over_) {
        over_ = true;  // told once
        events_.upstream_closed(owner_stream_);
    }
}

ClientSession::ClientSession(ProxyCounters& counters, std::function<void()> wake) : counters_(counters), wake_(std::move(wake)) {
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
}

ClientSession::~ClientSession() {
    for (auto& [id, l] : streams_) l->detach();
    nghttp2_session_del(session_);
}

bool ClientSession::add(HboneUpstream& link) {
    std::vector<nghttp2_nv> nva = {header(":method", "CONNECT"), header(":authority", link.authority_)};
    if (!link.headers_.forwarded.empty()) nva.push_back(header("forwarded", link.headers_.forwarded));
    if (!link.headers_.baggage.empty()) nva.push_back(header("baggage", link.headers_.baggage));
    if (!link.headers_.traceparent.empty()) nva.push_back(header("traceparent", link.headers_.traceparent));
    if (!link.headers_.forwarded_network.empty()) nva.push_back(header("x-forwarded-network", link.headers_.forwarded_network));
    nghttp2_data_provider body{};
    body.read_callback = ClientCallbacks::read_link;
    const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &body, &link);
    last_stream_ = std::chrono::steady_clock::now();
    if (id < 0) {
        link.answered_ = true;
        link.events_.upstream_connected(link.owner_stream_, UpstreamEvents::Outcome::failed);
        return false;
    }
    link.session_ = this;
    link.id_ = id;
    streams_[id] = &link;
    return true;
}

bool ClientSession::receive(std::span<const uint8_t> bytes) {
    busy_ = true;
    const auto n = nghttp2_session_mem_recv(session_, bytes.data(), bytes.size());
    busy_ = false;
    return n >= 0;
}

void ClientSession::output_to(ByteQueue& out, size_t limit) {
    busy_ = true;
    while (out.size() < limit) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n <= 0) break;
        out.append(std::span(data, static_cast<size_t>(n)));
    }
    busy_ = false;
}

void ClientSession::send_ping() {
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
    awaiting_ping_ = true;
}

bool ClientSession::wants_output() const { return nghttp2_session_want_write(session_) != 0; }

void ClientSession::wake() {
    if (!busy_ && wake_) wake_();
}

void ClientSession::notify() {
    std::vector<HboneUpstream*> writable;
    for (auto& [id, l] : streams_) {
        if (l->wants_writable_ && l->to_remote.size() < HboneUpstream::buffer) {
            l->wants_writable_ = false;
            writable.push_back(l);
            touched_.push_back(&l->events_);
        }
    }
    for (auto* l : writable) l->events_.upstream_writable(l->owner_stream_);
    auto owners = std::move(touched_);
    touched_.clear();
    std::sort(owners.begin(), owners.end());
    owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
    for (auto* o : owners) o->upstream_pump();
}

void ClientSession::forget(HboneUpstream& link) {
    nghttp2_session_set_stream_user_data(session_, link.id_, nullptr);
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, link.id_, NGHTTP2_CANCEL);
    streams_.erase(link.id_);
    link.detach();
    wake();
}

void ClientSession::fail_all() {
    auto links = std::move(streams_);
    streams_.clear();
    for (auto& [id, l] : links) {
        nghttp2_session_set_stream_user_data(session_, id, nullptr);
        l->detach();
        touched(*l);
        if (!l->answered_) {
            l->answered_ = true;
            l->events_.upstream_connected(l->owner_stream_, UpstreamEvents::Outcome::failed);
        } else if (l->status_ == 200 && !l->over_) {
            l->over_ = true;
            l->events_.upstream_failed(l->owner_stream_);
        }
    }
    notify();
}

}  // namespace meshgate::hbone
