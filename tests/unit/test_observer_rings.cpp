// vmm's side of an isolated observer's event rings: what it publishes, how
// a full ring drops and counts, when it wakes the child, and that the one
// index the child writes (each ring's tail) is checked as hostile input.
// The test plays the child: it maps the same memfd.
#include "isolation/observer_rings.hpp"

#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include <cstring>
#include <string>

using namespace vmm;
using namespace vmm::isolation;

namespace {

// The child's view of the rings.
struct ChildView {
    void *base;
    std::size_t size;
    explicit ChildView(const ObserverRings &rings) : size(observer_shared_size(rings.ring_count()))
    {
        base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, rings.fd(), 0);
        REQUIRE(base != MAP_FAILED);
    }
    ~ChildView() { ::munmap(base, size); }
    ObserverRingHeader &ring(uint32_t i) { return *observer_ring(base, i); }
    ObserverControl &control() { return *observer_control(base); }
};

vmm_exit_event event_on(uint32_t vcpu, uint64_t address, const char *device = "com1")
{
    vmm_exit_event e{};
    e.struct_size = sizeof e;
    e.vcpu = vcpu;
    e.reason = 2;
    e.reason_name = "IO";
    e.space = VMM_SPACE_PIO;
    e.address = address;
    e.size = 1;
    e.count = 1;
    e.data = 0x41;
    e.is_write = 1;
    e.device = device;
    return e;
}

} // namespace

TEST_CASE("observer rings: each vCPU's events land in its own ring, strings copied in", "[unit][isolation]")
{
    auto dropped = std::make_shared<std::atomic<uint64_t>>(0);
    ObserverRings rings(2, dropped);
    ChildView child(rings);
    CHECK(rings.publish(event_on(0, 0x3f8)) == ObserverRings::Result::published);
    CHECK(rings.publish(event_on(1, 0x2f8, nullptr)) == ObserverRings::Result::published);
    CHECK(rings.publish(event_on(0, 0x3f9)) == ObserverRings::Result::published);
    CHECK(child.ring(0).head.load() == 2);
    CHECK(child.ring(1).head.load() == 1);
    const ObserverRecord *r0 = observer_records(&child.ring(0));
    CHECK(r0[0].address == 0x3f8);
    CHECK(r0[1].address == 0x3f9);
    CHECK(std::string(r0[0].device) == "com1");
    CHECK(r0[0].has_device == 1);
    CHECK(std::string(r0[0].reason_name) == "IO");
    const ObserverRecord *r1 = observer_records(&child.ring(1));
    CHECK(r1[0].has_device == 0);
    CHECK(r1[0].vcpu == 1);
    CHECK(rings.pending() == 3);
    // A vCPU the rings were not made for: dropped, counted.
    CHECK(rings.publish(event_on(2, 0x80)) == ObserverRings::Result::dropped);
    CHECK(*dropped == 1);
}

TEST_CASE("observer rings: a full ring drops and counts, never waits, and room the child makes is used again",
          "[unit][isolation]")
{
    auto dropped = std::make_shared<std::atomic<uint64_t>>(0);
    ObserverRings rings(1, dropped);
    ChildView child(rings);
    for (uint64_t i = 0; i < kObserverRingCapacity; ++i)
        REQUIRE(rings.publish(event_on(0, i)) == ObserverRings::Result::published);
    CHECK(rings.publish(event_on(0, 1)) == ObserverRings::Result::dropped);
    CHECK(rings.publish(event_on(0, 2)) == ObserverRings::Result::dropped);
    CHECK(rings.dropped() == 2);
    child.ring(0).tail.store(10); // the child took ten
    CHECK(rings.publish(event_on(0, 0x1234)) == ObserverRings::Result::published);
    CHECK(observer_records(&child.ring(0))[kObserverRingCapacity % kObserverRingCapacity].address == 0x1234);
    CHECK(rings.dropped() == 2);
}

TEST_CASE("observer rings: a sleeping child is woken once, at the threshold", "[unit][isolation]")
{
    ObserverRings rings(1, std::make_shared<std::atomic<uint64_t>>(0));
    ChildView child(rings);
    child.control().child_sleeping.store(1);
    for (uint64_t i = 0; i + 1 < kObserverWakeThreshold; ++i)
        rings.publish(event_on(0, i));
    CHECK(child.control().wake_seq.load() == 0); // below the threshold: no wake-up
    CHECK(child.control().child_sleeping.load() == 1);
    rings.publish(event_on(0, 0));
    CHECK(child.control().wake_seq.load() == 1);
    CHECK(child.control().child_sleeping.load() == 0);
    rings.publish(event_on(0, 0));
    CHECK(child.control().wake_seq.load() == 1); // awake: not woken again
}

TEST_CASE("observer rings: a read index the child moves where it cannot be is a violation", "[unit][isolation]")
{
    auto dropped = std::make_shared<std::atomic<uint64_t>>(0);
    SECTION("past what vmm published")
    {
        ObserverRings rings(2, dropped);
        ChildView child(rings);
        rings.publish(event_on(1, 1));
        child.ring(1).tail.store(5);
        CHECK(rings.publish(event_on(1, 2)) == ObserverRings::Result::violation);
        CHECK(rings.violation() == "it moved the read index of its event ring 1 to 5, outside 0..1 (the events it "
                                   "had consumed .. those vmm had published)");
        // Closed from then on, on every ring: dropped and counted.
        child.ring(1).tail.store(1);
        CHECK(rings.publish(event_on(0, 3)) == ObserverRings::Result::dropped);
        CHECK(rings.dropped() == 2);
    }
    SECTION("backwards")
    {
        ObserverRings rings(1, dropped);
        ChildView child(rings);
        for (int i = 0; i < 4; ++i)
            rings.publish(event_on(0, i));
        child.ring(0).tail.store(3);
        CHECK(rings.publish(event_on(0, 9)) == ObserverRings::Result::published);
        child.ring(0).tail.store(2);
        CHECK(rings.publish(event_on(0, 9)) == ObserverRings::Result::violation);
        CHECK_THAT(rings.violation(), Catch::Contains("to 2, outside 3..5"));
    }
    SECTION("a huge value")
    {
        ObserverRings rings(1, dropped);
        ChildView child(rings);
        child.ring(0).tail.store(~0ull);
        CHECK(rings.publish(event_on(0, 9)) == ObserverRings::Result::violation);
        CHECK(rings.violation().empty() == false);
    }
}

TEST_CASE("observer rings: the child cannot shrink the shared memory under vmm", "[unit][isolation]")
{
    ObserverRings rings(1, std::make_shared<std::atomic<uint64_t>>(0));
    CHECK(::ftruncate(rings.fd(), 4096) != 0);
    CHECK(errno == EPERM);
    CHECK(rings.publish(event_on(0, 1)) == ObserverRings::Result::published);
}
