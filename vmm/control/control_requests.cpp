#include "control/control_requests.hpp"

#include "core/machine.hpp"
#include "support/errors.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <cstdint>

namespace vmm {
namespace {

using json = nlohmann::ordered_json;

const char *state_name(uint32_t state)
{
    switch (state) {
    case VMM_VCPU_CREATED: return "created";
    case VMM_VCPU_RUNNING: return "running";
    case VMM_VCPU_HALTED: return "halted";
    case VMM_VCPU_STOPPED: return "stopped";
    case VMM_VCPU_FAILED: return "failed";
    default: return "unknown";
    }
}

json status(Machine &machine)
{
    json devices = json::array();
    for (const auto &device : machine.devices().devices()) {
        json ranges = json::array();
        for (Space space : {Space::pio, Space::mmio}) {
            for (const Mapping &m : machine.devices().space(space).mappings()) {
                if (m.owner == device->name())
                    ranges.push_back(describe_range(space, m.base, m.size));
            }
        }
        devices.push_back({{"name", device->name()},
                           {"plugin", device->plugin().name()},
                           {"plugin_version", device->plugin().version()},
                           {"plugin_file", device->plugin().file().string()},
                           {"isolated", device->wiring().isolation != nullptr},
                           {"ranges", ranges}});
    }
    json vcpus = json::array();
    for (const auto &runtime : machine.vcpu_runtimes()) {
        vcpus.push_back({{"index", runtime->index},
                         {"state", state_name(runtime->state.load())},
                         {"exits", runtime->exits.load()},
                         {"host_thread_id", runtime->thread_id.load()}});
    }
    return {{"ok", true},     {"machine", machine.spec().name}, {"devices", devices},
            {"vcpus", vcpus}, {"suspended", machine.suspended()}};
}

std::vector<Setting> settings_from(const json &object)
{
    if (!object.is_object())
        throw InputError("\"settings\" must be an object");
    std::vector<Setting> settings;
    for (const auto &[key, value] : object.items()) {
        Setting setting;
        setting.key = key;
        if (value.is_boolean())
            setting.value = value.get<bool>();
        else if (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX))
            // get<int64_t>() would wrap it to a negative number.
            throw InputError(fmt::format("setting '{}' = {} is out of range (integers are signed 64-bit)", key,
                                         value.get<uint64_t>()));
        else if (value.is_number_integer())
            setting.value = value.get<int64_t>();
        else if (value.is_number_float())
            setting.value = value.get<double>();
        else if (value.is_string())
            setting.value = value.get<std::string>();
        else
            throw InputError(fmt::format("setting '{}' must be a boolean, number or string", key));
        settings.push_back(std::move(setting));
    }
    return settings;
}

std::string field(const json &request, const char *name)
{
    if (!request.contains(name) || !request[name].is_string())
        throw InputError(fmt::format("\"{}\" must be a string", name));
    return request[name].get<std::string>();
}

json handle(const json &request, Machine &machine)
{
    if (!request.is_object())
        throw InputError("a request is a JSON object such as {\"command\": \"status\"}");
    const std::string command = field(request, "command");
    if (command == "status")
        return status(machine);
    if (command == "stop") {
        machine.control().request_stop(StopCause::control, kExitOk, "stopped through the control socket");
        return {{"ok", true}};
    }
    if (command == "swap") {
        std::optional<std::vector<Setting>> settings;
        if (request.contains("settings"))
            settings = settings_from(request["settings"]);
        bool restart = false;
        if (request.contains("restart")) {
            if (!request["restart"].is_boolean())
                throw InputError("\"restart\" must be true or false");
            restart = request["restart"].get<bool>();
        }
        std::optional<bool> isolate;
        if (request.contains("isolate")) {
            if (!request["isolate"].is_boolean())
                throw InputError("\"isolate\" must be true or false");
            isolate = request["isolate"].get<bool>();
        }
        const SwapResult r =
            machine.swap_device(field(request, "device"), field(request, "plugin"), settings, restart, isolate);
        return {{"ok", true},          {"device", r.device},           {"old_plugin", r.old_plugin},
                {"new_plugin", r.new_plugin}, {"state_bytes", r.state_bytes}, {"pause_us", r.pause_us},
                {"isolated", r.isolated}};
    }
    if (command == "wake") {
        // ACPI S3: a wake event, as a power button press or a wake-on-LAN
        // packet would be on a real machine.
        if (!machine.wake("a control-socket wake request"))
            throw InputError("the VM is not suspended (wake only ends an ACPI S3 sleep)");
        return {{"ok", true}};
    }
    throw InputError(fmt::format("unknown command \"{}\" (status, swap, stop, wake)", command));
}

} // namespace

std::string handle_control_request(std::string_view line, Machine &machine)
{
    // Replies quote text from outside (the request itself, in a parse error;
    // file names; plugins' messages): bytes that are not UTF-8 become U+FFFD
    // instead of making dump() throw.
    const auto text = [](const json &reply) { return reply.dump(-1, ' ', false, json::error_handler_t::replace); };
    // Nothing may leave this function: it runs on the control thread, where
    // an exception would end the whole VMM.
    try {
        try {
            return text(handle(json::parse(line), machine));
        } catch (const json::exception &e) {
            return text({{"ok", false}, {"error", std::string("not a valid request: ") + e.what()}});
        } catch (const std::exception &e) {
            return text({{"ok", false}, {"error", e.what()}});
        }
    } catch (...) {
        return R"({"ok":false,"error":"internal error while answering the request"})";
    }
}

} // namespace vmm
