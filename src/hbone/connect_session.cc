#include "hbone/connect_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

namespace meshgate::hbone {

namespace {

std::string_view view(const uint8_t* data, size_t length) { return {reinterpret_cast<const char*>(data), length}; }

}  // namespace

// nghttp2's callbacks, with the session as user data.
struct SessionCallbacks {
    static ConnectSession& self(void* user) { return *static_cast<ConnectSession*>(user); }

    static int begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
        if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
            self(user).streams_[frame->hd.stream_id];
            ++self(user).requests_;
        }
        return 0;
    }

    static int header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t name_length,
                      const uint8_t* value, size_t value_length, uint8_t, void* user) {
        auto it = self(user).streams_.find(frame->hd.stream_id);
        if (it == self(user).streams_.end() || frame->hd.type != NGHTTP2_HEADERS) return 0;
        auto& s = it->second;
        const auto n = view(name, name_length);
        const std::string v(view(value, value_length));
        if (n == ":method") s.method = v;
        else if (n == ":authority") s.authority = v;
        else if (n == "forwarded") s.headers.forwarded = v;
        else if (n == "baggage") s.headers.baggage = v;
        else if (n == "traceparent") s.headers.traceparent = v;
        return 0;
    }

    static int frame_received(nghttp2_session*, const nghttp2_frame* frame, void* user) {
        auto& me = self(user);
        if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK)) me.awaiting_ping_ = false;
        const int32_t id = frame->hd.stream_id;
        auto it = me.streams_.find(id);
        if (it == me.streams_.end()) return 0;
        if (frame->hd.type == NGHTTP2_RST_STREAM && !it->second.answered) me.premature_reset();
        if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) me.request_complete(id);
        it = me.streams_.find(id);
        if (it != me.streams_.end() && (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
            (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
            it->second.client_done = true;
            me.flush_to_upstream(id, it->second);
        }
        return 0;
    }

    static int data_chunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data, size_t length, void* user) {
        auto& me = self(user);
        auto it = me.streams_.find(id);
        if (it == me.streams_.end() || !it->second.admitted) {
            nghttp2_session_consume(session, id, length);  // a refused stream: dropped, its window given back
            return 0;
        }
        // Written once the whole receive() is through: one write per stream for many frames.
        auto& s = it->second;
        if (s.to_upstream.empty()) me.unflushed_.push_back(id);
        s.to_upstream.append(std::span(data, length));
        return 0;
    }

    static int stream_closed(nghttp2_session*, int32_t id, uint32_t, void* user) {
        auto& me = self(user);
        auto it = me.streams_.find(id);
        if (it == me.streams_.end()) return 0;
        const bool admitted = it->second.admitted;
        me.streams_.erase(it);
        if (admitted) me.upstreams_.close(id);
        return 0;
    }

    // DATA for the client, from the upstream's bytes: deferred while there are none yet.
    static ssize_t read_upstream(nghttp2_session*, int32_t id, uint8_t* buffer, size_t length, uint32_t* flags,
                                 nghttp2_data_source*, void* user) {
        auto& me = self(user);
        auto it = me.streams_.find(id);
        if (it == me.streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        auto& s = it->second;
        const size_t n = std::min(length, s.to_client.size());
        if (n) {  // an empty queue has no data() to copy from
            std::memcpy(buffer, s.to_client.front().data(), n);
            s.to_client.pop(n);
        }
        if (s.to_client.empty() && s.upstream_done) *flags |= NGHTTP2_DATA_FLAG_EOF;
        else if (n == 0) return NGHTTP2_ERR_DEFERRED;
        return static_cast<ssize_t>(n);
    }
};

ConnectSession::ConnectSession(ConfigSource config, std::vector<std::string> client_identities, Upstreams& upstreams)
    : config_(std::move(config)), identities_(std::move(client_identities)), upstreams_(upstreams) {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, SessionCallbacks::begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, SessionCallbacks::header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, SessionCallbacks::frame_received);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, SessionCallbacks::data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, SessionCallbacks::stream_closed);
    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    // A window is given back only once the upstream took the bytes: that is the back-pressure.
    nghttp2_option_set_no_auto_window_update(option, 1);
    // nghttp2's own defence against Rapid Reset (CVE-2023-44487) allows 1,000 RST_STREAMs, then
    // 33 a second, whatever they end: a pooled client that cancels each finished tunnel got
    // GOAWAY at some 2,500 tunnels a second. premature_reset() judges by what a reset costs.
    nghttp2_option_set_stream_reset_rate_limit(option, UINT64_MAX, UINT64_MAX);
    nghttp2_session_server_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, stream_window},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, max_frame_size},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, max_header_list_size},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, connection_window);
}

ConnectSession::~ConnectSession() {
    for (const auto& [id, s] : streams_) {
        if (s.admitted) upstreams_.close(id);
    }
    nghttp2_session_del(session_);
}

bool ConnectSession::receive(std::span<const uint8_t> bytes) {
    const bool ok = nghttp2_session_mem_recv(session_, bytes.data(), bytes.size()) >= 0 && !reset_flood_;
    auto streams = std::move(unflushed_);
    unflushed_.clear();
    for (int32_t id : streams) {
        auto it = streams_.find(id);
        if (it != streams_.end()) flush_to_upstream(id, it->second);
    }
    if (ok) return true;
    // Not HTTP/2, or broken beyond a stream: GOAWAY (PROTOCOL_ERROR; a reset flood has had its
    // ENHANCE_YOUR_CALM), then the close.
    if (!reset_flood_) nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    return false;
}

// A stream reset before its answer made us start an upstream connection for nothing: a client
// that mostly does that (Rapid Reset) is sent away, as Envoy does with "premature" resets.
// Resets after the answer (a client done with its tunnel) cost no more than a clean end.
void ConnectSession::premature_reset() {
    ++premature_resets_;
    if (requests_ >= premature_reset_floor && premature_resets_ * 2 >= requests_) {
        reset_flood_ = true;
        nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
    }
}

std::vector<uint8_t> ConnectSession::output() {
    ByteQueue out;
    output_to(out, SIZE_MAX);
    const auto bytes = out.front();
    return {bytes.begin(), bytes.end()};
}

void ConnectSession::output_to(ByteQueue& out, size_t limit) {
    while (out.size() < limit) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n <= 0) break;
        out.append(std::span(data, static_cast<size_t>(n)));
    }
}

bool ConnectSession::finished() const { return !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_); }

void ConnectSession::request_complete(int32_t id) {
    auto& s = streams_.at(id);
    const ConnectDecision d = decide_connect(config_(), s.method, s.authority, identities_);
    if (d.status != 200) return answer(id, d.status, false);
    s.admitted = true;
    upstreams_.open(id, d, s.headers);
}

void ConnectSession::answer(int32_t id, int status, bool with_body) {
    ++answers_[status];
    streams_.at(id).answered = true;
    upstreams_.answered(id, status);
    const std::string code = std::to_string(status);
    nghttp2_nv status_header = {reinterpret_cast<uint8_t*>(const_cast<char*>(":status")), reinterpret_cast<uint8_t*>(const_cast<char*>(code.c_str())),
                                7, code.size(), NGHTTP2_NV_FLAG_NONE};
    nghttp2_data_provider body{};
    body.read_callback = SessionCallbacks::read_upstream;
    nghttp2_submit_response(session_, id, &status_header, 1, with_body ? &body : nullptr);
}

void ConnectSession::connected(int32_t id, bool ok, const std::string&) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    if (!ok) {
        it->second.admitted = false;  // the owner already knows: nothing to close
        return answer(id, 503, false);
    }
    it->second.connected = true;
    answer(id, 200, true);
    flush_to_upstream(id, it->second);
}

void ConnectSession::flush_to_upstream(int32_t id, Stream& s) {
    if (!s.connected) return;
    while (!s.to_upstream.empty()) {
        const size_t n = upstreams_.write(id, s.to_upstream.front());
        if (n == 0) break;
        s.to_upstream.pop(n);
        nghttp2_session_consume(session_, id, n);  // the window goes back only now
    }
    if (s.to_upstream.empty() && s.client_done && !s.write_shut) {
        s.write_shut = true;
        upstreams_.shutdown_write(id);
    }
}

size_t ConnectSession::upstream_room(int32_t id) const {
    auto it = streams_.find(id);
    if (it == streams_.end() || !it->second.connected) return 0;
    return upstream_buffer - std::min(upstream_buffer, it->second.to_client.size());
}

size_t ConnectSession::upstream_data(int32_t id, std::span<const uint8_t> bytes) {
    const size_t n = std::min(bytes.size(), upstream_room(id));
    if (n == 0) return 0;
    auto& s = streams_.at(id);
    s.to_client.append(bytes.first(n));
    nghttp2_session_resume_data(session_, id);
    return n;
}

void ConnectSession::upstream_closed(int32_t id) {
    auto it = streams_.find(id);
    if (it == streams_.end() || !it->second.connected) return;
    it->second.upstream_done = true;
    nghttp2_session_resume_data(session_, id);
}

void ConnectSession::send_ping() {
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
    awaiting_ping_ = true;
}

void ConnectSession::upstream_failed(int32_t id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    it->second.admitted = false;  // the owner released it
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CONNECT_ERROR);
}

void ConnectSession::upstream_writable(int32_t id) {
    auto it = streams_.find(id);
    if (it != streams_.end()) flush_to_upstream(id, it->second);
}

}  // namespace meshgate::hbone
