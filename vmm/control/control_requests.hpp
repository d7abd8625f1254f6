// The control protocol: what each request line asks of the machine.
//
//   {"command": "status"}
//   {"command": "swap", "device": "com1", "plugin": "serial-file",
//    "settings": {"path": "/tmp/out"}}            settings: optional
//    (add "restart": true to swap a device whose plugin cannot save its
//    state: the new instance then starts from scratch)
//    (add "isolate": true or false to move it into a process of its own or
//    back into vmm's; without it, it runs where it ran)
//   {"command": "stop"}                          exit status 0
//
// Every reply has "ok": true or false; a false one has "error". Requests
// that are not JSON, not an object, or lack a field are answered, never fatal.
#pragma once

#include <string>
#include <string_view>

namespace vmm {

class Machine;

std::string handle_control_request(std::string_view line, Machine &machine);

} // namespace vmm
