// fw_cfg end to end: the state a guest's read is in survives a live swap of
// the fw-cfg plugin (guests/fw-cfg/fw_cfg_stream.c). The device's checks
// against its specification run as the bundled machine pc-fwcfg.toml
// (test_bundled_machines.cpp).
#include "background_vmm.hpp"
#include "control_client.hpp"
#include "e2e_support.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <string>

using namespace vmm::test;
using json = nlohmann::json;

TEST_CASE("fw_cfg: a guest reading a file byte by byte loses nothing when fw-cfg is swapped mid-read",
          "[e2e][swap][fw_cfg]")
{
    TempDir dir("fwcfg-swap");
    constexpr uint32_t kSize = 65536; // a second or two of port reads: time to swap in the middle
    std::string pattern(kSize, '\0');
    for (uint32_t i = 0; i < kSize; ++i)
        pattern[i] = static_cast<char>(i % 251);
    std::ofstream(dir.path / "stream.bin", std::ios::binary) << pattern;
    const std::string machine = dir.write("m.toml", "[machine]\nmemory = \"4M\"\n"
                                                    "[[image]]\nfile = \"fw-cfg-stream.elf\"\nformat = \"multiboot\"\n"
                                                    "[[device]]\nname = \"fw_cfg\"\nplugin = \"fw-cfg\"\n"
                                                    "settings = { file1_name = \"opt/stream\", file1_path = \"stream.bin\" }\n"
                                                    "[[device]]\nname = \"com1\"\nplugin = \"serial\"\n"
                                                    "[[device]]\nname = \"exit\"\nplugin = \"debug-exit\"\n");
    const std::string socket = (dir.path / "control.sock").string();

    BackgroundVmm background({"--config", machine, "--control", socket, "--log-level", "vmm=info"}); // the swap line
    json swap, after;
    {
        ControlClient control(socket);
        REQUIRE(control.connected());
        const json before = await_status(control, [](const json &s) { return value_at(s, "/vcpus/0/exits") > 5000; });
        CHECK_THAT(before, HasAt("/vcpus/0/exits", [](const json &n) { return n > 5000; }, "> 5000"));
        swap = control.request({{"command", "swap"}, {"device", "fw_cfg"}, {"plugin", "fw-cfg"}});
        after = control.request({{"command", "status"}});
    }
    const ProcessResult &vmm = background.wait();
    show(vmm);
    REQUIRE_THAT(swap, IsOk());
    CHECK_THAT(swap, HasAt("/state_bytes", [](const json &n) { return n.is_number_unsigned() && n > 0; }, "> 0"));
    // The swap came in the middle of the file: the guest had read less than all of it.
    CHECK_THAT(after, HasAt("/vcpus/0/exits", [](const json &n) { return n < kSize; }, "< 65536"));
    std::cout << "fw_cfg swap: vCPUs paused for " << swap["pause_us"].get<double>() << " us" << std::endl;
    CHECK_THAT(vmm.out, Catch::Contains("stream: 65536 bytes, 0 wrong"));
    CHECK_THAT(vmm.err, Catch::Contains("device 'fw_cfg': swapped plugin 'fw-cfg' for 'fw-cfg'"));
    CHECK(vmm.exit_status == 0);
}
