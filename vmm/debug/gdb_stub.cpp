#include "debug/gdb_stub.hpp"

#include "debug/gdb_packet.hpp"
#include "debug/gdb_session.hpp"
#include "support/errors.hpp"
#include "support/logging.hpp"

#include <fmt/format.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace vmm::gdb {
namespace {

using Clock = std::chrono::steady_clock;

// Writes all of `data` within `limit`, or gives up (the debugger is stuck).
bool write_within(int fd, const std::string &data, std::chrono::milliseconds limit)
{
    const auto deadline = Clock::now() + limit;
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            return false;
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, static_cast<int>(left));
    }
    return true;
}

} // namespace

// One attached debugger.
class GdbStub::Connection {
public:
    Connection(UniqueFd fd, GdbStub &stub) : fd_(std::move(fd)), stub_(stub), session_(stub.stop_, stub.machine_) {}

    int fd() const { return fd_.get(); }
    bool open() const { return open_; }
    bool waiting() const { return waiting_; }

    // Attaching stops the VM, as gdb expects of a target it connects to.
    void attach()
    {
        if (!stub_.stop_.stop_all(std::chrono::milliseconds(2000)))
            logging::core().warn("gdb: the vCPUs did not all stop within 2 s of the debugger attaching");
        session_.choose_arch();
    }

    void readable()
    {
        char buffer[4096];
        const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            logging::core().info("gdb: the debugger disconnected{}", framer_.in_packet() ? " in the middle of a packet" : "");
            detach_and_close();
            return;
        }
        if (n < 0)
            return;
        for (FramedEvent &event : framer_.feed(std::string_view(buffer, static_cast<std::size_t>(n)))) {
            if (!open_)
                return;
            switch (event.kind) {
            case FramedEvent::Kind::ack: break;
            case FramedEvent::Kind::nack: send_raw(last_); break;
            case FramedEvent::Kind::bad: send_raw("-"); break;
            case FramedEvent::Kind::interrupt:
                if (waiting_) {
                    stub_.stop_.stop_all(std::chrono::milliseconds(1000));
                    settled();
                }
                break;
            case FramedEvent::Kind::packet: packet(event.payload); break;
            }
        }
    }

    // The VM stopped (or ended) while the debugger waited.
    void settled()
    {
        if (!waiting_ || !open_)
            return;
        if (stub_.stop_.stopped()) {
            waiting_ = false;
            send(session_.stop_reply());
        }
    }

    void vm_ended(int status)
    {
        // Briefly: the VM has ended and vmm is on its way out; a debugger
        // that does not read must not hold that up.
        if (open_ && waiting_) {
            last_ = frame(fmt::format("W{:02x}", status & 0xff));
            write_within(fd_.get(), last_, std::chrono::milliseconds(200));
        }
        close();
    }

    void detach_and_close()
    {
        if (open_)
            session_.release();
        close();
    }

private:
    void packet(const std::string &payload)
    {
        if (!session_.no_ack())
            send_raw("+");
        if (waiting_) {
            // gdb sends nothing but Ctrl-C while the VM runs in all-stop mode.
            send_packet("E03");
            return;
        }
        SessionReply reply = session_.handle(parse_request(payload));
        if (reply.resumed) {
            waiting_ = true;
            return;
        }
        send(reply);
        if (reply.close)
            close();
    }

    void send(const SessionReply &reply)
    {
        if (!reply.console.empty())
            send_packet("O" + to_hex(reply.console));
        if (reply.send)
            send_packet(reply.payload);
    }

    void send_packet(const std::string &payload)
    {
        last_ = frame(payload);
        send_raw(last_);
    }

    void send_raw(const std::string &bytes)
    {
        if (open_ && !bytes.empty() && !write_within(fd_.get(), bytes, std::chrono::milliseconds(1000))) {
            logging::core().warn("gdb: the debugger does not read its replies: dropped");
            detach_and_close();
        }
    }

    void close()
    {
        open_ = false;
        fd_.reset();
    }

    UniqueFd fd_;
    GdbStub &stub_;
    Session session_;
    Framer framer_;
    std::string last_;
    bool open_ = true;
    bool waiting_ = false;
};

GdbStub::GdbStub(UniqueFd listener, std::string address, Machine &machine, bool wait)
    : machine_(machine), stop_(machine.spec().vcpus, machine.control(), machine.memory(), wait), listener_(std::move(listener)),
      address_(std::move(address))
{
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_.valid())
        throw SystemError(errno_message("eventfd", errno));
    stop_.set_notify([this] { wake(); });
    logging::core().info("gdb: listening on {}{}", address_, wait ? "; the guest waits for a debugger to continue it" : "");
    thread_ = std::thread([this] { serve(); });
}

GdbStub::~GdbStub()
{
    quit_ = true;
    wake();
    if (thread_.joinable())
        thread_.join();
    stop_.set_notify(nullptr);
}

void GdbStub::wake()
{
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void GdbStub::finish(int status)
{
    final_status_ = status;
    wake();
}

void GdbStub::serve()
{
    std::unique_ptr<Connection> connection;
    bool announced_end = false;
    while (!quit_) {
        if (connection && !connection->open())
            connection.reset();
        pollfd fds[3] = {{wake_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}, {-1, POLLIN, 0}};
        if (connection)
            fds[2].fd = connection->fd();
        // Bounded, so the VM's own end is noticed even without a wake-up.
        ::poll(fds, 3, 200);
        if ((fds[0].revents & POLLIN) != 0) {
            uint64_t count = 0;
            [[maybe_unused]] const ssize_t n = ::read(wake_.get(), &count, sizeof count);
        }
        if (connection && (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
            connection->readable();
        if ((fds[1].revents & POLLIN) != 0) {
            UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
            if (client.valid() && connection && connection->open()) {
                // One debugger at a time; the second is told why and closed.
                write_within(client.get(), frame("E.another debugger is attached"), std::chrono::milliseconds(100));
                logging::core().warn("gdb: refused a second debugger (one is attached)");
            } else if (client.valid() && !stop_.all_ended()) {
                logging::core().info("gdb: a debugger attached on {}", address_);
                connection = std::make_unique<Connection>(std::move(client), *this);
                connection->attach();
            }
        }
        if (connection && connection->open())
            connection->settled();
        const int status = final_status_.load();
        if (status >= 0 && !announced_end) {
            announced_end = true;
            if (connection)
                connection->vm_ended(status);
        }
    }
    if (connection && connection->open())
        connection->vm_ended(final_status_.load() >= 0 ? final_status_.load() : 0);
}

} // namespace vmm::gdb
