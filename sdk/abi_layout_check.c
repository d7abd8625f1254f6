/*
 * The recorded layout of every struct in <vmm/plugin_abi.h>, checked at
 * compile time. If this file stops compiling, the header changed:
 *  - a field moved or changed size: that breaks every built plugin, so bump
 *    VMM_ABI_MAJOR and start a new record;
 *  - a struct grew at its end: bump VMM_ABI_MINOR and add its sizes below.
 * Fields recorded for an older minor must keep their offsets in every later
 * minor of the same major: that is what lets old plugins load.
 */
#include <stddef.h>
#include <vmm/plugin_abi.h>

#define VMM_FIELD(type, field, offset)                                              \
    _Static_assert(offsetof(type, field) == (offset),                              \
                   #type "." #field " moved: this breaks built plugins (bump VMM_ABI_MAJOR)")
#define VMM_SIZE(type, size)                                                         \
    _Static_assert(sizeof(type) == (size),                                           \
                   #type " changed size without a recorded ABI version (bump VMM_ABI_MINOR " \
                   "for growth at the end, and record the new size here)")

#if VMM_ABI_MAJOR != 1
#error "no recorded layout for this ABI major: record one in abi_layout_check.c"
#endif

/* ---- ABI 1.0: these offsets hold for every 1.x ---------------------------- */
VMM_FIELD(vmm_config_key, struct_size, 0);
VMM_FIELD(vmm_config_key, type, 4);
VMM_FIELD(vmm_config_key, name, 8);
VMM_FIELD(vmm_config_key, description, 16);
VMM_FIELD(vmm_config_key, required, 24);
VMM_FIELD(vmm_config_key, reserved, 28);

VMM_FIELD(vmm_region_decl, struct_size, 0);
VMM_FIELD(vmm_region_decl, space, 4);
VMM_FIELD(vmm_region_decl, base, 8);
VMM_FIELD(vmm_region_decl, size, 16);

VMM_FIELD(vmm_setting, struct_size, 0);
VMM_FIELD(vmm_setting, type, 4);
VMM_FIELD(vmm_setting, key, 8);
VMM_FIELD(vmm_setting, int_value, 16);
VMM_FIELD(vmm_setting, float_value, 24);
VMM_FIELD(vmm_setting, string_value, 32);
VMM_FIELD(vmm_setting, string_length, 40);

VMM_FIELD(vmm_region, struct_size, 0);
VMM_FIELD(vmm_region, space, 4);
VMM_FIELD(vmm_region, size, 8);

VMM_FIELD(vmm_host_api, struct_size, 0);
VMM_FIELD(vmm_host_api, abi_version, 4);
VMM_FIELD(vmm_host_api, log, 8);
VMM_FIELD(vmm_host_api, guest_read, 16);
VMM_FIELD(vmm_host_api, guest_write, 24);
VMM_FIELD(vmm_host_api, guest_map, 32);
VMM_FIELD(vmm_host_api, request_stop, 40);

VMM_FIELD(vmm_device_create_info, struct_size, 0);
VMM_FIELD(vmm_device_create_info, reserved, 4);
VMM_FIELD(vmm_device_create_info, instance_name, 8);
VMM_FIELD(vmm_device_create_info, host_api, 16);
VMM_FIELD(vmm_device_create_info, host, 24);
VMM_FIELD(vmm_device_create_info, settings, 32);
VMM_FIELD(vmm_device_create_info, setting_count, 40);
VMM_FIELD(vmm_device_create_info, region_count, 44);
VMM_FIELD(vmm_device_create_info, regions, 48);

VMM_FIELD(vmm_plugin_descriptor, struct_size, 0);
VMM_FIELD(vmm_plugin_descriptor, flags, 4);
VMM_FIELD(vmm_plugin_descriptor, name, 8);
VMM_FIELD(vmm_plugin_descriptor, version, 16);
VMM_FIELD(vmm_plugin_descriptor, description, 24);
VMM_FIELD(vmm_plugin_descriptor, config_keys, 32);
VMM_FIELD(vmm_plugin_descriptor, config_key_count, 40);
VMM_FIELD(vmm_plugin_descriptor, default_region_count, 44);
VMM_FIELD(vmm_plugin_descriptor, default_regions, 48);
VMM_FIELD(vmm_plugin_descriptor, create, 56);
VMM_FIELD(vmm_plugin_descriptor, destroy, 64);
VMM_FIELD(vmm_plugin_descriptor, read, 72);
VMM_FIELD(vmm_plugin_descriptor, write, 80);

/* ---- ABI 1.1 ------------------------------------------------------------ */
#if VMM_ABI_MINOR >= 1
VMM_FIELD(vmm_host_api, region_address, 48);
#endif

/* ---- ABI 1.2 ------------------------------------------------------------ */
#if VMM_ABI_MINOR >= 2
VMM_FIELD(vmm_host_api, vcpu_count, 56);
VMM_FIELD(vmm_host_api, current_vcpu, 64);
VMM_FIELD(vmm_host_api, vcpu_info, 72);
VMM_FIELD(vmm_host_api, get_vcpu_registers, 80);
VMM_FIELD(vmm_host_api, set_vcpu_registers, 88);
VMM_FIELD(vmm_plugin_descriptor, observe_exit, 88);

VMM_FIELD(vmm_vcpu_registers, struct_size, 0);
VMM_FIELD(vmm_vcpu_registers, rax, 8);
VMM_FIELD(vmm_vcpu_registers, r15, 128);
VMM_FIELD(vmm_vcpu_registers, rip, 136);
VMM_FIELD(vmm_vcpu_registers, rflags, 144);

VMM_FIELD(vmm_vcpu_info, struct_size, 0);
VMM_FIELD(vmm_vcpu_info, index, 4);
VMM_FIELD(vmm_vcpu_info, host_thread_id, 8);
VMM_FIELD(vmm_vcpu_info, exits, 16);
VMM_FIELD(vmm_vcpu_info, state, 24);

VMM_FIELD(vmm_exit_event, struct_size, 0);
VMM_FIELD(vmm_exit_event, vcpu, 4);
VMM_FIELD(vmm_exit_event, reason, 8);
VMM_FIELD(vmm_exit_event, space, 12);
VMM_FIELD(vmm_exit_event, address, 16);
VMM_FIELD(vmm_exit_event, size, 24);
VMM_FIELD(vmm_exit_event, count, 28);
VMM_FIELD(vmm_exit_event, data, 32);
VMM_FIELD(vmm_exit_event, is_write, 40);
VMM_FIELD(vmm_exit_event, cs_selector, 44);
VMM_FIELD(vmm_exit_event, rip, 48);
VMM_FIELD(vmm_exit_event, guest_ns, 56);
VMM_FIELD(vmm_exit_event, handling_ns, 64);
VMM_FIELD(vmm_exit_event, device, 72);
VMM_FIELD(vmm_exit_event, reason_name, 80);
#endif

/* ---- ABI 1.3 ------------------------------------------------------------ */
#if VMM_ABI_MINOR >= 3
VMM_FIELD(vmm_plugin_descriptor, save_state, 96);
VMM_FIELD(vmm_plugin_descriptor, load_state, 104);
#endif

/* ---- sizes of the current minor ------------------------------------------ */
#if VMM_ABI_MINOR == 0
VMM_SIZE(vmm_config_key, 32);
VMM_SIZE(vmm_region_decl, 24);
VMM_SIZE(vmm_setting, 48);
VMM_SIZE(vmm_region, 16);
VMM_SIZE(vmm_host_api, 48);
VMM_SIZE(vmm_device_create_info, 56);
VMM_SIZE(vmm_plugin_descriptor, 88);
#elif VMM_ABI_MINOR == 1
VMM_SIZE(vmm_config_key, 32);
VMM_SIZE(vmm_region_decl, 24);
VMM_SIZE(vmm_setting, 48);
VMM_SIZE(vmm_region, 16);
VMM_SIZE(vmm_host_api, 56);
VMM_SIZE(vmm_device_create_info, 56);
VMM_SIZE(vmm_plugin_descriptor, 88);
#elif VMM_ABI_MINOR == 2
VMM_SIZE(vmm_config_key, 32);
VMM_SIZE(vmm_region_decl, 24);
VMM_SIZE(vmm_setting, 48);
VMM_SIZE(vmm_region, 16);
VMM_SIZE(vmm_host_api, 96);
VMM_SIZE(vmm_device_create_info, 56);
VMM_SIZE(vmm_plugin_descriptor, 96);
VMM_SIZE(vmm_vcpu_registers, 152);
VMM_SIZE(vmm_vcpu_info, 32);
VMM_SIZE(vmm_exit_event, 88);
#elif VMM_ABI_MINOR == 3
VMM_SIZE(vmm_config_key, 32);
VMM_SIZE(vmm_region_decl, 24);
VMM_SIZE(vmm_setting, 48);
VMM_SIZE(vmm_region, 16);
VMM_SIZE(vmm_host_api, 96);
VMM_SIZE(vmm_device_create_info, 56);
VMM_SIZE(vmm_plugin_descriptor, 112);
VMM_SIZE(vmm_vcpu_registers, 152);
VMM_SIZE(vmm_vcpu_info, 32);
VMM_SIZE(vmm_exit_event, 88);
#else
#error "no recorded sizes for this ABI minor: record them in abi_layout_check.c"
#endif
