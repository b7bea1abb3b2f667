#include "control/admin_commands.h"

#include <functional>
#include <map>

namespace meshgate::control {

namespace {

using nlohmann::json;

// Typed access to a request's "args", with errors that name the argument.
class Args {
public:
    explicit Args(const json& args) : args_(args) {}

    std::optional<std::string> string(const char* name, bool required = false) const {
        const json* v = get(name, required);
        if (!v) return std::nullopt;
        if (!v->is_string()) throw AdminError{"bad_request", std::string("args.") + name + ": expected a string"};
        return v->get<std::string>();
    }
    std::optional<bool> boolean(const char* name) const {
        const json* v = get(name, false);
        if (!v) return std::nullopt;
        if (!v->is_boolean()) throw AdminError{"bad_request", std::string("args.") + name + ": expected true or false"};
        return v->get<bool>();
    }
    std::optional<uint64_t> number(const char* name, uint64_t max) const {
        const json* v = get(name, false);
        if (!v) return std::nullopt;
        if (!v->is_number_unsigned() || v->get<uint64_t>() > max) {
            throw AdminError{"bad_request", std::string("args.") + name + ": expected an integer from 0 to " + std::to_string(max)};
        }
        return v->get<uint64_t>();
    }
    const json* array(const char* name) const {
        const json* v = get(name, false);
        if (v && !v->is_array()) throw AdminError{"bad_request", std::string("args.") + name + ": expected an array"};
        return v;
    }
    const json* object(const char* name) const {
        const json* v = get(name, false);
        if (v && !v->is_object()) throw AdminError{"bad_request", std::string("args.") + name + ": expected an object"};
        return v;
    }

private:
    const json* get(const char* name, bool required) const {
        auto it = args_.find(name);
        if (it == args_.end() || it->is_null()) {
            if (required) throw AdminError{"bad_request", std::string("args.") + name + " is required"};
            return nullptr;
        }
        return &*it;
    }
    const json& args_;
};

// The endpoint a request names: service, address and optional port.
uint32_t named_endpoint(const Args& args, AdminContext& context) {
    const auto service = *args.string("service", true);
    const auto text = *args.string("address", true);
    const auto address = IpAddress::parse(text);
    if (!address) throw AdminError{"bad_request", "args.address: not an IP address: " + text};
    const auto port = static_cast<uint16_t>(args.number("port", 65535).value_or(0));
    if (!context.live().service(service)) throw AdminError{"not_found", "no service " + service};
    const auto slot = context.live().find(service, *address, port);
    if (!slot) {
        throw AdminError{"not_found", "service " + service + " has no endpoint " + text +
                                          (port ? ":" + std::to_string(port) : std::string()) + " (see `meshgatectl endpoints " + service + "`)"};
    }
    return *slot;
}

json endpoint_json(AdminContext& context, uint32_t slot) {
    const auto& live = context.live();
    const auto& config = live.config();
    const auto& e = config.endpoints[slot];
    const auto& health = live.health()[slot];
    const Service* service = live.service(e.service);
    json j = {{"service", e.service},
              {"address", e.address ? e.address->to_string() : ""},
              {"port", service ? lb::endpoint_port(*service, e) : 0},
              {"key", service ? lb::endpoint_key(config, *service, e) : ""},
              {"source", to_string(live.source(slot))},
              {"weight", e.weight},
              {"declared_healthy", e.healthy},
              {"check_down", health.check_down},
              {"ejected", health.ejected},
              {"locality", {{"network", e.locality.network}, {"region", e.locality.region}, {"zone", e.locality.zone},
                            {"subzone", e.locality.subzone}, {"cluster", e.locality.cluster}, {"node", e.locality.node}}}};
    j.update(context.endpoint_runtime(slot));
    return j;
}

json run_endpoints(const Args& args, AdminContext& context) {
    const auto only = args.string("service");
    const auto& config = context.live().config();
    if (only && !context.live().service(*only)) throw AdminError{"not_found", "no service " + *only};
    json list = json::array();
    for (uint32_t slot = 0; slot < config.endpoints.size(); ++slot) {
        if (!context.live().occupied(slot) || (only && config.endpoints[slot].service != *only)) continue;
        list.push_back(endpoint_json(context, slot));
    }
    return {{"endpoints", std::move(list)}};
}

Locality locality_of(const json& j) {
    Locality l;
    std::map<std::string, std::string*> fields = {{"network", &l.network}, {"region", &l.region}, {"zone", &l.zone},
                                                  {"subzone", &l.subzone}, {"cluster", &l.cluster}, {"node", &l.node}};
    for (const auto& [key, value] : j.items()) {
        auto it = fields.find(key);
        if (it == fields.end()) throw AdminError{"bad_request", "args.locality." + key + ": unknown key"};
        if (!value.is_string()) throw AdminError{"bad_request", "args.locality." + key + ": expected a string"};
        *it->second = value.get<std::string>();
    }
    return l;
}

json run_endpoint_add(const Args& args, AdminContext& context) {
    Endpoint e;
    e.service = *args.string("service", true);
    const auto text = *args.string("address", true);
    e.address = IpAddress::parse(text);
    if (!e.address) throw AdminError{"bad_request", "args.address: not an IP address: " + text};
    if (auto port = args.number("port", 65535); port && *port) e.port = static_cast<uint16_t>(*port);
    e.weight = static_cast<uint32_t>(args.number("weight", 1'000'000).value_or(1));
    e.healthy = args.boolean("healthy").value_or(true);
    e.hbone = args.boolean("hbone").value_or(false);
    e.identity = args.string("identity").value_or("");
    if (const json* l = args.object("locality")) e.locality = locality_of(*l);
    if (const json* labels = args.object("labels")) {
        for (const auto& [key, value] : labels->items()) {
            if (!value.is_string()) throw AdminError{"bad_request", "args.labels." + key + ": expected a string"};
            e.labels[key] = value.get<std::string>();
        }
    }
    if (!context.live().service(e.service)) throw AdminError{"not_found", "no service " + e.service};
    if (auto error = context.live().add(e)) throw AdminError{"conflict", *error};
    const auto slot = *context.live().find(e.service, *e.address, e.port.value_or(0));
    return {{"endpoint", endpoint_json(context, slot)}};
}

json run_endpoint_set(const Args& args, AdminContext& context) {
    const uint32_t slot = named_endpoint(args, context);
    const auto healthy = args.boolean("healthy");
    const auto weight = args.number("weight", 1'000'000);
    if (!healthy && !weight) throw AdminError{"bad_request", "nothing to set: give args.healthy and/or args.weight"};
    if (auto error = context.live().set(slot, healthy, weight ? std::optional<uint32_t>(static_cast<uint32_t>(*weight)) : std::nullopt)) {
        throw AdminError{"failed", *error};
    }
    return {{"endpoint", endpoint_json(context, slot)}};
}

json run_endpoint_remove(const Args& args, AdminContext& context) {
    const uint32_t slot = named_endpoint(args, context);
    json before = endpoint_json(context, slot);
    if (auto error = context.live().remove(slot)) throw AdminError{"failed", *error};
    return {{"removed", std::move(before)}};
}

json run_drain(const Args& args, AdminContext& context) {
    const uint32_t slot = named_endpoint(args, context);
    if (auto error = context.live().set(slot, std::nullopt, 0u)) throw AdminError{"failed", *error};
    return {{"endpoint", endpoint_json(context, slot)}};
}

// args.flows: [[protocol, source address, source port, destination address, destination port], …]
std::vector<lb::FlowKey> flows_to_look_up(const Args& args) {
    constexpr size_t most = 4096;
    const json* list = args.array("flows");
    if (!list) throw AdminError{"bad_request", "args.flows is required"};
    if (list->size() > most) throw AdminError{"bad_request", "args.flows: at most " + std::to_string(most) + " flows per request"};
    std::vector<lb::FlowKey> flows;
    flows.reserve(list->size());
    for (size_t i = 0; i < list->size(); ++i) {
        const json& f = (*list)[i];
        const std::string where = "args.flows[" + std::to_string(i) + "]";
        auto bad = [&](const std::string& what) { return AdminError{"bad_request", where + ": " + what}; };
        if (!f.is_array() || f.size() != 5) throw bad("expected [protocol, source, source port, destination, destination port]");
        lb::FlowKey k;
        if (f[0] == "tcp") k.protocol = 6;
        else if (f[0] == "udp") k.protocol = 17;
        else throw bad("protocol: expected \"tcp\" or \"udp\"");
        for (int side : {1, 3}) {
            const auto a = f[side].is_string() ? IpAddress::parse(f[side].get<std::string>()) : std::nullopt;
            if (!a) throw bad(std::string(side == 1 ? "source" : "destination") + ": expected an IP address");
            (side == 1 ? k.source : k.destination) = *a;
            if (!f[side + 1].is_number_unsigned() || f[side + 1].get<uint64_t>() > 65535) {
                throw bad(std::string(side == 1 ? "source" : "destination") + " port: expected 0 to 65535");
            }
            (side == 1 ? k.source_port : k.destination_port) = static_cast<uint16_t>(f[side + 1].get<uint64_t>());
        }
        if (k.source.is_v4() != k.destination.is_v4()) throw bad("source and destination of different families");
        flows.push_back(k);
    }
    return flows;
}

struct Command {
    std::function<json(const Args&, AdminContext&)> run;
    bool updates = false;  // the reply waits for the snapshot that carries the change
};

const std::map<std::string, Command, std::less<>>& commands() {
    static const std::map<std::string, Command, std::less<>> table = {
        {"status", {[](const Args&, AdminContext& c) { return c.status(); }}},
        {"plan", {[](const Args& a, AdminContext& c) { return c.plan(a.string("service")); }}},
        {"endpoints", {run_endpoints}},
        {"endpoint.add", {run_endpoint_add, true}},
        {"endpoint.set", {run_endpoint_set, true}},
        {"endpoint.remove", {run_endpoint_remove, true}},
        {"drain", {run_drain, true}},
        {"stats", {[](const Args& a, AdminContext& c) {
             const auto format = a.string("format").value_or("json");
             if (format == "prometheus") return json{{"prometheus", c.prometheus()}};
             if (format != "json") throw AdminError{"bad_request", "args.format: expected \"json\" or \"prometheus\""};
             return c.stats();
         }}},
        {"reload", {[](const Args& a, AdminContext& c) { return c.reload(a.boolean("discard_admin").value_or(false)); }, true}},
        {"drain_node", {[](const Args& a, AdminContext& c) { return c.drain_node(a.boolean("cancel").value_or(false)); }}},
        {"lookup", {[](const Args& a, AdminContext& c) { return c.lookup(flows_to_look_up(a)); }}},
    };
    return table;
}

AdminReply error_reply(std::string line) {
    AdminReply reply;
    reply.line = std::move(line);
    reply.ok = false;
    return reply;
}

}  // namespace

AdminReply handle_admin_request(std::string_view line, AdminContext& context) {
    const json request = json::parse(line.begin(), line.end(), nullptr, false);
    if (request.is_discarded()) return error_reply(AdminServer::error_line("null", "bad_request", "not a JSON document"));
    if (!request.is_object()) return error_reply(AdminServer::error_line("null", "bad_request", "a request is a JSON object"));
    // The id is echoed as given: a string, a number or null.
    json id = nullptr;
    if (auto it = request.find("id"); it != request.end()) {
        if (!it->is_string() && !it->is_number() && !it->is_null()) {
            return error_reply(AdminServer::error_line("null", "bad_request", "id: expected a string or a number"));
        }
        id = *it;
    }
    const std::string id_text = id.dump();
    auto it = request.find("command");
    if (it == request.end() || !it->is_string()) {
        return error_reply(AdminServer::error_line(id_text, "bad_request", "command: expected a string"));
    }
    const auto name = it->get<std::string>();
    const auto& table = commands();
    auto command = table.find(name);
    if (command == table.end()) return error_reply(AdminServer::error_line(id_text, "unknown_command", "unknown command: " + name));
    static const json no_args = json::object();
    const json* args = &no_args;
    if (auto a = request.find("args"); a != request.end() && !a->is_null()) {
        if (!a->is_object()) return error_reply(AdminServer::error_line(id_text, "bad_request", "args: expected an object"));
        args = &*a;
    }
    try {
        json result = command->second.run(Args(*args), context);
        auto dump = [](const json& id_value, const json& r) {
            const json reply = {{"id", id_value}, {"ok", true}, {"result", r}};
            return reply.dump(-1, ' ', false, json::error_handler_t::replace);
        };
        AdminReply reply;
        reply.line = dump(id, result);
        if (!command->second.updates) return reply;
        reply.after_generation = context.next_generation();
        if (result.contains("endpoint")) {
            // Shown as the new snapshot has it, if it is still there by then.
            reply.render = [&context, id, result, dump]() mutable {
                const auto& e = result["endpoint"];
                const auto address = IpAddress::parse(e["address"].get<std::string>());
                const auto slot = address ? context.live().find(e["service"].get<std::string>(), *address, e["port"].get<uint16_t>())
                                          : std::nullopt;
                if (slot) result["endpoint"] = endpoint_json(context, *slot);
                return dump(id, result);
            };
        }
        return reply;
    } catch (const AdminError& e) {
        return error_reply(AdminServer::error_line(id_text, e.code, e.message));
    } catch (const std::exception& e) {
        return error_reply(AdminServer::error_line(id_text, "failed", e.what()));
    }
}

}  // namespace meshgate::control
