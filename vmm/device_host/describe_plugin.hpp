// `vmm-device-host --describe FILE`: load a plugin in this process, not in
// vmm's, and send its descriptor to vmm as one msg_description on the
// channel socket (descriptor 3). Its static constructors and its
// vmm_plugin_describe run here; vmm_plugin_describe runs in the sandbox.
// The message copies what the plugin declared, as it declared it: vmm
// validates every field (isolation/plugin_description.cpp), so nothing here
// needs to be trusted, only bounded.
#pragma once

namespace vmm::device_host {

// The process's exit status (0 once the message is sent).
int describe_plugin(const char *file);

} // namespace vmm::device_host
