// Input echoed in messages is escaped: a NUL cannot cut a message, a newline
// cannot forge another `file:line:col` line, ESC cannot drive the terminal.
#include "config/machine_loader.hpp"
#include "support/errors.hpp"
#include "support/escape.hpp"

#include "support/input_error_text.hpp"

#include <catch2/catch.hpp>

using namespace vmm;
using namespace std::string_literals;

TEST_CASE("escaped() keeps printable text and escapes controls, separators and invalid UTF-8", "[support]")
{
    CHECK(escaped("com1 \xe2\x86\x92 \xe6\x97\xa5 ok\\n") == "com1 \xe2\x86\x92 \xe6\x97\xa5 ok\\n");
    CHECK(escaped("a\nb\tc\rd") == "a\\nb\\tc\\rd");
    CHECK(escaped("a\0b"s) == "a\\x00b");
    CHECK(escaped("\x1b[31mred\x7f") == "\\x1b[31mred\\x7f");
    CHECK(escaped("\xc2\x9b" "2J") == "\\u009b2J");                // a C1 CSI
    CHECK(escaped("\xe2\x80\xae" "gpj.exe") == "\\u202egpj.exe"); // a bidi override
    CHECK(escaped("\xe2\x80\xa8") == "\\u2028");
    CHECK(escaped("caf\xe9") == "caf\\xe9"); // not UTF-8
    // Escaping twice changes nothing: a message quoting another stays readable.
    const std::string once = escaped("x\ny\0z\x1b"s);
    CHECK(escaped(once) == once);
}

TEST_CASE("input errors escape the input they quote, and the file they name", "[support][config]")
{
    const InputError e(SourceLocation{"m\n.toml", 3, 4}, "name \"a\nm.toml:1:1: forged\0cut\"!"s);
    CHECK(std::string(e.what()) == "m\\n.toml:3:4: name \"a\\nm.toml:1:1: forged\\x00cut\"!");
    const std::string text = vmm::test::input_error_text(
        [] { parse_machine("[machine]\nmemory = 4096\n[cpu]\nmode = \"real\\u0000\\nx:1:1: y\"\n", "m.toml", {}); });
    CHECK(text == "m.toml:4:8: [cpu]: unknown mode \"real\\x00\\nx:1:1: y\" (expected \"real\", \"protected\", \"long\", \"user\" "
                  "or \"reset\")");
    CHECK(text.find('\n') == std::string::npos);
    // An unknown key written as a quoted string with a newline.
    const std::string key = vmm::test::input_error_text(
        [] { parse_machine("[machine]\nmemory = 4096\n\"a\\nm.toml:9:9: b\" = 1\n", "m.toml", {}); });
    CHECK(key == "m.toml:3:1: [machine]: unknown key 'a\\nm.toml:9:9: b' (known keys: irqchip, isolate, memory, name, pit, "
                 "strict, vcpus)");
}

TEST_CASE("a NUL in an image, module or plugin name is refused, not cut", "[config]")
{
    const std::string image = vmm::test::input_error_text([] {
        parse_machine("[machine]\nmemory = 4096\n[[image]]\nfile = \"m.toml\\u0000x\"\naddress = 0\n", "m.toml", {});
    });
    CHECK(image == "m.toml:4:8: image[0]: image file name \"m.toml\\x00x\" contains a NUL character");
    const std::string plugin = vmm::test::input_error_text([] {
        parse_machine("[machine]\nmemory = 4096\n[[device]]\nname = \"d\"\nplugin = \"serial\\u0000x\"\n", "m.toml", {});
    });
    CHECK(plugin == "m.toml:5:10: device 'd': plugin \"serial\\x00x\" contains a NUL character");
}
