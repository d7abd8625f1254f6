#include "isolation/plugin_description.hpp"

#include "config/isolation_options.hpp"
#include "isolation/device_host_spawn.hpp"
#include "plugin/descriptor_limits.hpp"
#include "plugin/plugin_call.hpp"
#include "support/errors.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

namespace vmm {

using namespace isolation;

namespace {

namespace fs = std::filesystem;

// The bounds are the checks' own (plugin/descriptor_limits.hpp), which the
// rebuilt descriptor goes through: what lies beyond them is refused there,
// by name.

// The functions of a described plugin: never called (the isolated device's
// proxy replaces every one); each says so if it ever were.
vmm_status refused_create(const vmm_device_create_info *, void **) { return VMM_ERROR_UNSUPPORTED; }
void refused_destroy(void *) {}
vmm_status refused_read(void *, uint32_t, uint64_t, void *, uint32_t) { return VMM_ERROR_UNSUPPORTED; }
vmm_status refused_write(void *, uint32_t, uint64_t, const void *, uint32_t) { return VMM_ERROR_UNSUPPORTED; }
void refused_observe(void *, const vmm_exit_event *) {}
vmm_status refused_save(void *, void *, uint64_t, uint64_t *) { return VMM_ERROR_UNSUPPORTED; }
vmm_status refused_load(void *, const void *, uint64_t) { return VMM_ERROR_UNSUPPORTED; }
vmm_status refused_lifecycle(void *) { return VMM_ERROR_UNSUPPORTED; }

// What the rebuilt descriptor points to: strings, and each array laid out
// with the plugin's own strides (so that the checks walk it as they walk a
// loaded plugin's), 8-byte aligned, with room for one whole struct past
// the last element.
struct Storage {
    std::deque<std::string> strings;
    std::deque<std::vector<uint64_t>> arrays;
    std::deque<std::vector<const char *>> choice_lists; // ABI 1.6: each NULL-terminated
    vmm_plugin_descriptor descriptor{};
};

class Decoder {
public:
    Decoder(const Message &message, Storage &storage)
        : in_(message.bytes.data(), message.bytes.size()), storage_(storage)
    {
    }
    Reader &in() { return in_; }

    const char *string(const char *what)
    {
        if (in_.u32() == 0)
            return nullptr;
        std::string text = in_.str(kMaxPluginString);
        if (!in_.ok())
            throw std::invalid_argument(fmt::format("{} is cut short or longer than {} bytes", what, kMaxPluginString));
        if (text.find('\0') != std::string::npos)
            throw std::invalid_argument(fmt::format("{} holds a NUL byte", what));
        return storage_.strings.emplace_back(std::move(text)).c_str();
    }

    // An array as put_array (device_host/describe_plugin.cpp) sent it.
    // Returns false where the sender stopped: at a stride the checks refuse.
    template <typename T, typename Get>
    bool array(const char *what, uint32_t &count_out, const T *&array_out, uint32_t limit, uint32_t min_size, Get get)
    {
        const uint32_t count = in_.u32();
        const bool present = in_.u32() != 0;
        count_out = count;
        array_out = nullptr;
        if (!present)
            return true;
        auto &buffer = storage_.arrays.emplace_back();
        if (count > limit) { // refused by count before the checks walk it
            buffer.resize((sizeof(T) + 7) / 8);
            array_out = reinterpret_cast<const T *>(buffer.data());
            return true;
        }
        std::vector<std::pair<uint32_t, T>> elements;
        std::size_t bytes = 0;
        bool complete = true;
        for (uint32_t i = 0; i < count; ++i) {
            T element{};
            element.struct_size = in_.u32();
            if (!in_.ok())
                throw std::invalid_argument(fmt::format("{} {} is cut short", what, i));
            const uint32_t stride = element.struct_size;
            if (!usable_stride(stride, min_size)) {
                elements.emplace_back(0, element); // the checks stop here, naming it
                complete = false;
                break;
            }
            get(element);
            elements.emplace_back(stride, element);
            bytes += stride;
        }
        buffer.resize((bytes + sizeof(T)) / 8 + 1);
        auto *base = reinterpret_cast<char *>(buffer.data());
        std::size_t at = 0;
        for (const auto &[stride, element] : elements) {
            std::memcpy(base + at, &element, sizeof(T));
            at += stride;
        }
        array_out = reinterpret_cast<const T *>(base);
        return complete;
    }

    // ABI 1.6's default, range and choices of a key, as put_key_limits
    // sent them; the choices rebuilt as the NULL-terminated list they were.
    void key_limits(vmm_config_key &k)
    {
        k.default_text = string("a config key's default");
        k.limits = in_.u32();
        k.reserved_1_6 = in_.u32();
        k.min_value = in_.i64();
        k.max_value = in_.i64();
        if (in_.u32() == 0)
            return;
        const uint32_t count = in_.u32();
        if (count > kMaxKeyChoices + 1)
            throw std::invalid_argument(fmt::format("{} choices sent, more than {}", count, kMaxKeyChoices + 1));
        auto &list = storage_.choice_lists.emplace_back();
        for (uint32_t i = 0; i < count; ++i) {
            const char *choice = string("a choice");
            if (choice == nullptr)
                throw std::invalid_argument(fmt::format("choice {} is sent as NULL (which ends the list)", i));
            list.push_back(choice);
        }
        list.push_back(nullptr);
        k.choices = list.data();
    }

private:
    Reader in_;
    Storage &storage_;
};

[[noreturn]] void malformed(const fs::path &file, const std::string &why)
{
    throw InputError(fmt::format("{}: vmm-device-host sent a malformed description of the plugin ({}); it is "
                                 "treated as a plugin that lies about itself",
                                 file.string(), why));
}

std::shared_ptr<PluginLibrary> decode_descriptor(const fs::path &file, uint32_t version, Decoder &decoder,
                                                 std::shared_ptr<Storage> storage)
{
    Reader &in = decoder.in();
    vmm_plugin_descriptor &d = storage->descriptor;
    d.struct_size = in.u32();
    d.flags = in.u32();
    d.name = decoder.string("the name");
    d.version = decoder.string("the version");
    d.description = decoder.string("the description");
    const uint32_t functions = in.u32();
    if (functions >= 1u << 10)
        throw std::invalid_argument(fmt::format("function bits {:#x} name no function", functions));
    const auto has = [&](int bit) { return (functions & (1u << bit)) != 0; };
    d.create = has(0) ? refused_create : nullptr;
    d.destroy = has(1) ? refused_destroy : nullptr;
    d.read = has(2) ? refused_read : nullptr;
    d.write = has(3) ? refused_write : nullptr;
    d.observe_exit = has(4) ? refused_observe : nullptr;
    d.save_state = has(5) ? refused_save : nullptr;
    d.load_state = has(6) ? refused_load : nullptr;
    d.realize = has(7) ? refused_lifecycle : nullptr;
    d.quiesce = has(8) ? refused_lifecycle : nullptr;
    d.resume = has(9) ? refused_lifecycle : nullptr;
    bool complete = decoder.array("config key", d.config_key_count, d.config_keys, kMaxConfigKeys, kMinConfigKeySize,
                                  [&](vmm_config_key &k) {
                                      k.type = in.u32();
                                      k.name = decoder.string("a config key's name");
                                      k.description = decoder.string("a config key's description");
                                      k.required = in.u32();
                                      k.reserved = in.u32();
                                      if (VMM_ABI_VERSION_MINOR(version) >= 6)
                                          decoder.key_limits(k);
                                  });
    complete = complete && decoder.array("default region", d.default_region_count, d.default_regions,
                                         kMaxDefaultRegions, kMinRegionDeclSize, [&](vmm_region_decl &r) {
                                             r.space = in.u32();
                                             r.base = in.u64();
                                             r.size = in.u64();
                                         });
    if (complete && VMM_ABI_VERSION_MINOR(version) >= 4 && d.struct_size >= kIrqFieldsEnd)
        complete = decoder.array("default irq", d.default_irq_count, d.default_irqs, kMaxDefaultIrqs, kMinIrqDeclSize,
                                 [&](vmm_irq_decl &q) {
                                     q.line = in.u32();
                                     q.flags = in.u32();
                                 });
    if (!in.ok())
        throw std::invalid_argument("the message is cut short");
    if (complete && !in.at_end())
        throw std::invalid_argument("bytes follow the descriptor");
    const vmm_plugin_descriptor *raw = &storage->descriptor;
    return PluginLibrary::described(file, version, raw, std::move(storage));
}

std::string signal_name(int signal)
{
    const char *abbreviation = ::sigabbrev_np(signal);
    return abbreviation != nullptr ? std::string("SIG") + abbreviation : fmt::format("signal {}", signal);
}

// The describing process: started, and always reaped.
class DescribeChild {
public:
    DescribeChild(const fs::path &helper, const fs::path &file)
    {
        int sockets[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0)
            throw SystemError(errno_message("socketpair to describe a plugin", errno));
        socket_ = sockets[0];
        // Above 3, so that dup2 onto 3 always makes a copy without CLOEXEC.
        const int theirs = ::fcntl(sockets[1], F_DUPFD_CLOEXEC, 10);
        ::close(sockets[1]);
        const std::string helper_text = helper.string(), file_text = file.string();
        const int rc = spawn_device_host(helper_text, {"--describe", file_text}, {{theirs, kChannelFd}}, pid_);
        ::close(theirs);
        if (rc != 0) {
            ::close(socket_);
            throw SystemError(errno_message(fmt::format("starting {} to describe {}", helper_text, file_text), rc));
        }
    }
    ~DescribeChild()
    {
        if (!reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(socket_);
    }
    DescribeChild(const DescribeChild &) = delete;
    DescribeChild &operator=(const DescribeChild &) = delete;

    pid_t pid() const { return pid_; }
    int socket() const { return socket_; }

    // How it ended (killed first: it has ended already, or must).
    std::string reap()
    {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
        if (WIFSIGNALED(status))
            return fmt::format("killed by {}", signal_name(WTERMSIG(status)));
        return fmt::format("exited with status {}", WEXITSTATUS(status));
    }

private:
    pid_t pid_ = -1;
    int socket_ = -1;
    bool reaped_ = false;
};

} // namespace

std::shared_ptr<PluginLibrary> plugin_from_description(const fs::path &file, const Message &message)
{
    auto storage = std::make_shared<Storage>();
    Decoder decoder(message, *storage);
    Reader &in = decoder.in();
    if (in.type() != msg_description)
        malformed(file, fmt::format("message type {} is not a description", in.type()));
    const uint32_t outcome = in.u32();
    try {
        switch (outcome) {
        case describe_ok: {
            const uint32_t version = in.u32();
            return decode_descriptor(file, version, decoder, std::move(storage));
        }
        case describe_not_loadable: {
            const std::string why = in.str(kMaxPluginString);
            if (!in.at_end())
                break;
            throw InputError(fmt::format("{} is not a loadable shared object: {}", file.string(), why));
        }
        case describe_no_version:
            if (!in.at_end())
                break;
            throw InputError(fmt::format("{} is not a vmm plugin: it does not export {}", file.string(),
                                         VMM_PLUGIN_ABI_VERSION_SYMBOL));
        case describe_incompatible: {
            const uint32_t version = in.u32();
            if (!in.at_end())
                break;
            PluginLibrary::check_abi_version(file.string(), version);
            malformed(file, fmt::format("it calls ABI {} incompatible, which it is not", abi_version_string(version)));
        }
        case describe_no_entry: {
            const uint32_t version = in.u32();
            if (!in.at_end())
                break;
            throw InputError(fmt::format("{}: plugin ABI {} but no entry point {}", file.string(),
                                         abi_version_string(version), VMM_PLUGIN_DESCRIBE_SYMBOL));
        }
        case describe_threw: {
            in.u32();
            const std::string what = in.str(kMaxPluginString);
            if (!in.at_end())
                break;
            throw InputError(
                fmt::format("{}: {}() {}: {}", file.string(), VMM_PLUGIN_DESCRIBE_SYMBOL, kThrewAcrossAbi, what));
        }
        case describe_null:
            in.u32();
            if (!in.at_end())
                break;
            throw InputError(fmt::format("{}: malformed plugin descriptor: {}() returned NULL", file.string(),
                                         VMM_PLUGIN_DESCRIBE_SYMBOL));
        case describe_no_sandbox: {
            const std::string why = in.str(kMaxPluginString);
            if (!in.at_end())
                break;
            throw SystemError(fmt::format("{}: vmm-device-host could not enter its sandbox to describe the plugin: "
                                          "{}",
                                          file.string(), why));
        }
        case describe_too_large: {
            in.u32();
            const uint32_t bytes = in.u32();
            if (!in.at_end())
                break;
            throw InputError(fmt::format("{}: the plugin's descriptor takes {} bytes to send, more than an isolated "
                                         "plugin's may ({} bytes)",
                                         file.string(), bytes, kMaxDescription));
        }
        default: malformed(file, fmt::format("unknown outcome {}", outcome));
        }
    } catch (const std::invalid_argument &e) {
        malformed(file, e.what());
    }
    malformed(file, fmt::format("outcome {} with a body of the wrong size", outcome));
}

std::shared_ptr<PluginLibrary> describe_plugin_in_child(const fs::path &file)
{
    std::error_code ec;
    if (!fs::exists(file, ec))
        throw InputError(fmt::format("plugin file {} does not exist", file.string()));
    if (!fs::is_regular_file(file, ec))
        throw InputError(fmt::format("plugin file {} is not a regular file", file.string()));
    fs::path helper;
    try {
        helper = find_device_host();
    } catch (const InputError &e) {
        throw InputError(fmt::format("isolate = true, but {} (it reads an isolated plugin's descriptor)", e.what()));
    }
    DescribeChild child(helper, fs::absolute(file, ec));
    const std::string who = fmt::format("{} (described in vmm-device-host, process {})", file.string(), child.pid());
    std::string violation;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kDescribeLimitMs);
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd ready{child.socket(), POLLIN, 0};
        const int n = left.count() > 0 ? ::poll(&ready, 1, static_cast<int>(left.count())) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            const std::string how = child.reap();
            throw InputError(fmt::format("{}: the plugin did not describe itself within {} ms ({}, by vmm)", who,
                                         kDescribeLimitMs, how));
        }
        auto message = receive_message(child.socket(), kMaxDescription);
        if (!message) { // it ended (or sent what no description can be)
            const std::string how = child.reap();
            throw InputError(fmt::format("{}: its process ended while describing the plugin: {}{}", who, how,
                                         violation.empty() ? "" : ": the sandbox refused " + violation));
        }
        Reader in(message->bytes.data(), message->bytes.size());
        if (in.type() == msg_sandbox_violation) {
            violation = in.str(1024);
            continue;
        }
        return plugin_from_description(file, *message); // the child is killed and reaped on the way out
    }
}

} // namespace vmm
