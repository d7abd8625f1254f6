/*
 * The recorded layout of every struct in <vmm/plugin_abi.h>, checked at
 * compile time. If this file stops compiling, the header changed:
 *  - a field moved or changed type (its size, signedness, or a callback's
 *    signature), or a constant changed value: that breaks every built
 *    plugin, so bump VMM_ABI_MAJOR and start a new record;
 *  - a struct grew at its end: bump VMM_ABI_MINOR and add its sizes below.
 * Fields recorded for an older minor must keep their offsets in every later
 * minor of the same major: that is what lets old plugins load.
 */
#include <stddef.h>
#include <vmm/plugin_abi.h>

#define VMM_FIELD(type, field, offset, field_type)                                   \
    _Static_assert(offsetof(type, field) == (offset),                                 \
                   #type "." #field " moved: this breaks built plugins (bump VMM_ABI_MAJOR)"); \
    _Static_assert(_Generic(((type *)0)->field, field_type: 1, default: 0),           \
                   #type "." #field " is no longer " #field_type                      \
                   ": this breaks built plugins (bump VMM_ABI_MAJOR)")
#define VMM_SIZE(type, size)                                                         \
    _Static_assert(sizeof(type) == (size),                                           \
                   #type " changed size without a recorded ABI version (bump VMM_ABI_MINOR " \
                   "for growth at the end, and record the new size here)")
#define VMM_CONSTANT(name, value)                                                    \
    _Static_assert((name) == (value), #name " changed value: this breaks built plugins (bump VMM_ABI_MAJOR)")

#if VMM_ABI_MAJOR != 1
#error "no recorded layout for this ABI major: record one in abi_layout_check.c"
#endif

/* The callbacks' exact signatures: _Generic matches function pointer types
 * exactly, so a changed parameter or return type is caught. */
typedef const char *string;
typedef void (*log_fn)(vmm_host_context *, uint32_t, const char *);
typedef vmm_status (*guest_read_fn)(vmm_host_context *, uint64_t, void *, uint64_t);
typedef vmm_status (*guest_write_fn)(vmm_host_context *, uint64_t, const void *, uint64_t);
typedef void *(*guest_map_fn)(vmm_host_context *, uint64_t, uint64_t);
typedef void (*request_stop_fn)(vmm_host_context *, int32_t);
typedef vmm_status (*region_address_fn)(vmm_host_context *, uint32_t, uint64_t *);
typedef uint32_t (*vcpu_count_fn)(vmm_host_context *);
typedef int32_t (*current_vcpu_fn)(vmm_host_context *);
typedef vmm_status (*vcpu_info_fn)(vmm_host_context *, uint32_t, vmm_vcpu_info *);
typedef vmm_status (*get_vcpu_registers_fn)(vmm_host_context *, uint32_t, vmm_vcpu_registers *);
typedef vmm_status (*set_vcpu_registers_fn)(vmm_host_context *, uint32_t, const vmm_vcpu_registers *);
typedef vmm_status (*create_fn)(const vmm_device_create_info *, void **);
typedef void (*destroy_fn)(void *);
typedef vmm_status (*read_fn)(void *, uint32_t, uint64_t, void *, uint32_t);
typedef vmm_status (*write_fn)(void *, uint32_t, uint64_t, const void *, uint32_t);
typedef void (*observe_exit_fn)(void *, const vmm_exit_event *);
typedef vmm_status (*save_state_fn)(void *, void *, uint64_t, uint64_t *);
typedef vmm_status (*load_state_fn)(void *, const void *, uint64_t);
typedef const vmm_plugin_descriptor *(*describe_fn)(void);
#if VMM_ABI_MINOR >= 4
typedef vmm_status (*irq_set_level_fn)(vmm_host_context *, uint32_t, uint32_t);
typedef vmm_status (*irq_pulse_fn)(vmm_host_context *, uint32_t);
typedef vmm_status (*msi_send_fn)(vmm_host_context *, uint64_t, uint32_t);
typedef int32_t (*irq_eventfd_fn)(vmm_host_context *, uint32_t);
typedef vmm_status (*timer_create_fn)(vmm_host_context *, vmm_event_fn, void *, uint64_t *);
typedef vmm_status (*timer_arm_fn)(vmm_host_context *, uint64_t, uint64_t, uint64_t);
typedef vmm_status (*timer_cancel_fn)(vmm_host_context *, uint64_t);
typedef vmm_status (*fd_watch_fn)(vmm_host_context *, int32_t, uint32_t, vmm_event_fn, void *, uint64_t *);
typedef vmm_status (*fd_watch_update_fn)(vmm_host_context *, uint64_t, uint32_t);
typedef vmm_status (*doorbell_add_fn)(vmm_host_context *, const vmm_doorbell *, vmm_event_fn, void *, uint64_t *);
typedef vmm_status (*release_fn)(vmm_host_context *, uint64_t);
typedef uint64_t (*clock_ns_fn)(vmm_host_context *);
typedef void (*event_fn)(void *, uint64_t, uint64_t);
typedef vmm_status (*lifecycle_fn)(void *);
typedef const vmm_irq_decl *irq_decls;
#endif
#if VMM_ABI_MINOR >= 5
typedef vmm_status (*machine_info_fn)(vmm_host_context *, vmm_machine_info *);
typedef vmm_status (*machine_blob_fn)(vmm_host_context *, const char *, uint64_t, void *, uint64_t, uint64_t *);
typedef vmm_status (*request_suspend_fn)(vmm_host_context *);
#endif

/* ---- ABI 1.0: these hold for every 1.x ------------------------------------ */
_Static_assert(_Generic((vmm_status)0, int32_t: 1, default: 0), "vmm_status is no longer int32_t");
_Static_assert(_Generic((vmm_plugin_describe_fn)0, describe_fn: 1, default: 0),
               "vmm_plugin_describe_fn changed signature: this breaks built plugins (bump VMM_ABI_MAJOR)");
VMM_CONSTANT(VMM_ABI_VERSION, (VMM_ABI_MAJOR << 16) | VMM_ABI_MINOR);
VMM_CONSTANT(VMM_OK, 0);
VMM_CONSTANT(VMM_ERROR, -1);
VMM_CONSTANT(VMM_ERROR_INVALID, -2);
VMM_CONSTANT(VMM_ERROR_RANGE, -3);
VMM_CONSTANT(VMM_ERROR_NO_MEMORY, -4);
VMM_CONSTANT(VMM_ERROR_UNSUPPORTED, -5);
VMM_CONSTANT(VMM_ERROR_EXCEPTION, -6);
VMM_CONSTANT(VMM_LOG_TRACE, 0);
VMM_CONSTANT(VMM_LOG_DEBUG, 1);
VMM_CONSTANT(VMM_LOG_INFO, 2);
VMM_CONSTANT(VMM_LOG_WARN, 3);
VMM_CONSTANT(VMM_LOG_ERROR, 4);
VMM_CONSTANT(VMM_LOG_CRITICAL, 5);
VMM_CONSTANT(VMM_SPACE_PIO, 1);
VMM_CONSTANT(VMM_SPACE_MMIO, 2);
VMM_CONSTANT(VMM_VALUE_BOOL, 1);
VMM_CONSTANT(VMM_VALUE_INT, 2);
VMM_CONSTANT(VMM_VALUE_FLOAT, 3);
VMM_CONSTANT(VMM_VALUE_STRING, 4);
VMM_CONSTANT(VMM_PLUGIN_THREAD_SAFE, 0x1);

VMM_FIELD(vmm_config_key, struct_size, 0, uint32_t);
VMM_FIELD(vmm_config_key, type, 4, uint32_t);
VMM_FIELD(vmm_config_key, name, 8, string);
VMM_FIELD(vmm_config_key, description, 16, string);
VMM_FIELD(vmm_config_key, required, 24, uint32_t);
VMM_FIELD(vmm_config_key, reserved, 28, uint32_t);

VMM_FIELD(vmm_region_decl, struct_size, 0, uint32_t);
VMM_FIELD(vmm_region_decl, space, 4, uint32_t);
VMM_FIELD(vmm_region_decl, base, 8, uint64_t);
VMM_FIELD(vmm_region_decl, size, 16, uint64_t);

VMM_FIELD(vmm_setting, struct_size, 0, uint32_t);
VMM_FIELD(vmm_setting, type, 4, uint32_t);
VMM_FIELD(vmm_setting, key, 8, string);
VMM_FIELD(vmm_setting, int_value, 16, int64_t);
VMM_FIELD(vmm_setting, float_value, 24, double);
VMM_FIELD(vmm_setting, string_value, 32, string);
VMM_FIELD(vmm_setting, string_length, 40, uint64_t);

VMM_FIELD(vmm_region, struct_size, 0, uint32_t);
VMM_FIELD(vmm_region, space, 4, uint32_t);
VMM_FIELD(vmm_region, size, 8, uint64_t);

VMM_FIELD(vmm_host_api, struct_size, 0, uint32_t);
VMM_FIELD(vmm_host_api, abi_version, 4, uint32_t);
VMM_FIELD(vmm_host_api, log, 8, log_fn);
VMM_FIELD(vmm_host_api, guest_read, 16, guest_read_fn);
VMM_FIELD(vmm_host_api, guest_write, 24, guest_write_fn);
VMM_FIELD(vmm_host_api, guest_map, 32, guest_map_fn);
VMM_FIELD(vmm_host_api, request_stop, 40, request_stop_fn);

VMM_FIELD(vmm_device_create_info, struct_size, 0, uint32_t);
VMM_FIELD(vmm_device_create_info, reserved, 4, uint32_t);
VMM_FIELD(vmm_device_create_info, instance_name, 8, string);
VMM_FIELD(vmm_device_create_info, host_api, 16, const vmm_host_api *);
VMM_FIELD(vmm_device_create_info, host, 24, vmm_host_context *);
VMM_FIELD(vmm_device_create_info, settings, 32, const vmm_setting *);
VMM_FIELD(vmm_device_create_info, setting_count, 40, uint32_t);
VMM_FIELD(vmm_device_create_info, region_count, 44, uint32_t);
VMM_FIELD(vmm_device_create_info, regions, 48, const vmm_region *);

VMM_FIELD(vmm_plugin_descriptor, struct_size, 0, uint32_t);
VMM_FIELD(vmm_plugin_descriptor, flags, 4, uint32_t);
VMM_FIELD(vmm_plugin_descriptor, name, 8, string);
VMM_FIELD(vmm_plugin_descriptor, version, 16, string);
VMM_FIELD(vmm_plugin_descriptor, description, 24, string);
VMM_FIELD(vmm_plugin_descriptor, config_keys, 32, const vmm_config_key *);
VMM_FIELD(vmm_plugin_descriptor, config_key_count, 40, uint32_t);
VMM_FIELD(vmm_plugin_descriptor, default_region_count, 44, uint32_t);
VMM_FIELD(vmm_plugin_descriptor, default_regions, 48, const vmm_region_decl *);
VMM_FIELD(vmm_plugin_descriptor, create, 56, create_fn);
VMM_FIELD(vmm_plugin_descriptor, destroy, 64, destroy_fn);
VMM_FIELD(vmm_plugin_descriptor, read, 72, read_fn);
VMM_FIELD(vmm_plugin_descriptor, write, 80, write_fn);

/* ---- ABI 1.1 ------------------------------------------------------------ */
#if VMM_ABI_MINOR >= 1
VMM_FIELD(vmm_host_api, region_address, 48, region_address_fn);
#endif

/* ---- ABI 1.2 ------------------------------------------------------------ */
#if VMM_ABI_MINOR >= 2
VMM_CONSTANT(VMM_PLUGIN_NEEDS_VCPU_STATE, 0x2);
VMM_CONSTANT(VMM_VCPU_CREATED, 0);
VMM_CONSTANT(VMM_VCPU_RUNNING, 1);
VMM_CONSTANT(VMM_VCPU_HALTED, 2);
VMM_CONSTANT(VMM_VCPU_STOPPED, 3);
VMM_CONSTANT(VMM_VCPU_FAILED, 4);

VMM_FIELD(vmm_host_api, vcpu_count, 56, vcpu_count_fn);
VMM_FIELD(vmm_host_api, current_vcpu, 64, current_vcpu_fn);
VMM_FIELD(vmm_host_api, vcpu_info, 72, vcpu_info_fn);
VMM_FIELD(vmm_host_api, get_vcpu_registers, 80, get_vcpu_registers_fn);
VMM_FIELD(vmm_host_api, set_vcpu_registers, 88, set_vcpu_registers_fn);
VMM_FIELD(vmm_plugin_descriptor, observe_exit, 88, observe_exit_fn);

VMM_FIELD(vmm_vcpu_registers, struct_size, 0, uint32_t);
VMM_FIELD(vmm_vcpu_registers, reserved, 4, uint32_t);
VMM_FIELD(vmm_vcpu_registers, rax, 8, uint64_t);
VMM_FIELD(vmm_vcpu_registers, rbx, 16, uint64_t);
VMM_FIELD(vmm_vcpu_registers, rcx, 24, uint64_t);
VMM_FIELD(vmm_vcpu_registers, rdx, 32, uint64_t);
VMM_FIELD(vmm_vcpu_registers, rsi, 40, uint64_t);
VMM_FIELD(vmm_vcpu_registers, rdi, 48, uint64_t);
VMM_FIELD(vmm_vcpu_registers, rsp, 56, uint64_t);
VMM_FIELD(vmm_vcpu_registers, rbp, 64, uint64_t);
VMM_FIELD(vmm_vcpu_registers, r8, 72, uint64_t);
VMM_FIELD(vmm_vcpu_registers, r9, 80, uint64_t);
VMM_FIELD(vmm_vcpu_registers, r10, 88, uint64_t);
VMM_FIELD(vmm_vcpu_registers, r11, 96, uint64_t);
VMM_FIELD(vmm_vcpu_registers, r12, 104, uint64_t);
VMM_FIELD(vmm_vcpu_registers, r13, 112, uint64_t);
VMM_FIELD(vmm_vcpu_registers, r14, 120, uint64_t);
VMM_FIELD(vmm_vcpu_registers, r15, 128, uint64_t);
VMM_FIELD(vmm_vcpu_registers, rip, 136, uint64_t);
VMM_FIELD(vmm_vcpu_registers, rflags, 144, uint64_t);

VMM_FIELD(vmm_vcpu_info, struct_size, 0, uint32_t);
VMM_FIELD(vmm_vcpu_info, index, 4, uint32_t);
VMM_FIELD(vmm_vcpu_info, host_thread_id, 8, int64_t);
VMM_FIELD(vmm_vcpu_info, exits, 16, uint64_t);
VMM_FIELD(vmm_vcpu_info, state, 24, uint32_t);
VMM_FIELD(vmm_vcpu_info, reserved, 28, uint32_t);

VMM_FIELD(vmm_exit_event, struct_size, 0, uint32_t);
VMM_FIELD(vmm_exit_event, vcpu, 4, uint32_t);
VMM_FIELD(vmm_exit_event, reason, 8, uint32_t);
VMM_FIELD(vmm_exit_event, space, 12, uint32_t);
VMM_FIELD(vmm_exit_event, address, 16, uint64_t);
VMM_FIELD(vmm_exit_event, size, 24, uint32_t);
VMM_FIELD(vmm_exit_event, count, 28, uint32_t);
VMM_FIELD(vmm_exit_event, data, 32, uint64_t);
VMM_FIELD(vmm_exit_event, is_write, 40, uint32_t);
VMM_FIELD(vmm_exit_event, cs_selector, 44, uint16_t);
VMM_FIELD(vmm_exit_event, reserved, 46, uint16_t);
VMM_FIELD(vmm_exit_event, rip, 48, uint64_t);
VMM_FIELD(vmm_exit_event, guest_ns, 56, uint64_t);
VMM_FIELD(vmm_exit_event, handling_ns, 64, uint64_t);
VMM_FIELD(vmm_exit_event, device, 72, string);
VMM_FIELD(vmm_exit_event, reason_name, 80, string);
#endif

/* ---- ABI 1.3 ------------------------------------------------------------ */
#if VMM_ABI_MINOR >= 3
VMM_FIELD(vmm_plugin_descriptor, save_state, 96, save_state_fn);
VMM_FIELD(vmm_plugin_descriptor, load_state, 104, load_state_fn);
#endif

/* ---- ABI 1.4 ------------------------------------------------------------ */
#if VMM_ABI_MINOR >= 4
_Static_assert(_Generic((vmm_event_fn)0, event_fn: 1, default: 0),
               "vmm_event_fn changed signature: this breaks built plugins (bump VMM_ABI_MAJOR)");
VMM_CONSTANT(VMM_IRQ_EDGE, 0);
VMM_CONSTANT(VMM_IRQ_LEVEL, 0x1);
VMM_CONSTANT(VMM_IRQ_SHARED, 0x2);
VMM_CONSTANT(VMM_IRQ_NO_DEFAULT, 0xffffffffu);
VMM_CONSTANT(VMM_CREATE_IRQCHIP, 0x1);
VMM_CONSTANT(VMM_FD_READABLE, 0x1);
VMM_CONSTANT(VMM_FD_WRITABLE, 0x2);
VMM_CONSTANT(VMM_FD_HANGUP, 0x4);
VMM_CONSTANT(VMM_FD_ERROR, 0x8);
VMM_CONSTANT(VMM_DOORBELL_MATCH_VALUE, 0x1);

VMM_FIELD(vmm_irq_decl, struct_size, 0, uint32_t);
VMM_FIELD(vmm_irq_decl, line, 4, uint32_t);
VMM_FIELD(vmm_irq_decl, flags, 8, uint32_t);
VMM_FIELD(vmm_irq_decl, reserved, 12, uint32_t);

VMM_FIELD(vmm_doorbell, struct_size, 0, uint32_t);
VMM_FIELD(vmm_doorbell, region, 4, uint32_t);
VMM_FIELD(vmm_doorbell, offset, 8, uint64_t);
VMM_FIELD(vmm_doorbell, size, 16, uint32_t);
VMM_FIELD(vmm_doorbell, flags, 20, uint32_t);
VMM_FIELD(vmm_doorbell, value, 24, uint64_t);

VMM_FIELD(vmm_host_api, irq_set_level, 96, irq_set_level_fn);
VMM_FIELD(vmm_host_api, irq_pulse, 104, irq_pulse_fn);
VMM_FIELD(vmm_host_api, msi_send, 112, msi_send_fn);
VMM_FIELD(vmm_host_api, irq_eventfd, 120, irq_eventfd_fn);
VMM_FIELD(vmm_host_api, timer_create, 128, timer_create_fn);
VMM_FIELD(vmm_host_api, timer_arm, 136, timer_arm_fn);
VMM_FIELD(vmm_host_api, timer_cancel, 144, timer_cancel_fn);
VMM_FIELD(vmm_host_api, fd_watch, 152, fd_watch_fn);
VMM_FIELD(vmm_host_api, fd_watch_update, 160, fd_watch_update_fn);
VMM_FIELD(vmm_host_api, doorbell_add, 168, doorbell_add_fn);
VMM_FIELD(vmm_host_api, release, 176, release_fn);
VMM_FIELD(vmm_host_api, clock_ns, 184, clock_ns_fn);

VMM_FIELD(vmm_device_create_info, irq_count, 56, uint32_t);
VMM_FIELD(vmm_device_create_info, flags, 60, uint32_t);

VMM_FIELD(vmm_plugin_descriptor, default_irq_count, 112, uint32_t);
VMM_FIELD(vmm_plugin_descriptor, reserved, 116, uint32_t);
VMM_FIELD(vmm_plugin_descriptor, default_irqs, 120, irq_decls);
VMM_FIELD(vmm_plugin_descriptor, realize, 128, lifecycle_fn);
VMM_FIELD(vmm_plugin_descriptor, quiesce, 136, lifecycle_fn);
VMM_FIELD(vmm_plugin_descriptor, resume, 144, lifecycle_fn);
#endif

/* ---- ABI 1.5: machine facts ---------------------------------------------- */
#if VMM_ABI_MINOR >= 5
VMM_CONSTANT(VMM_MACHINE_IRQCHIP, 0x1);
VMM_CONSTANT(VMM_MACHINE_PIT, 0x2);

VMM_FIELD(vmm_machine_info, struct_size, 0, uint32_t);
VMM_FIELD(vmm_machine_info, vcpu_count, 4, uint32_t);
VMM_FIELD(vmm_machine_info, max_vcpus, 8, uint32_t);
VMM_FIELD(vmm_machine_info, flags, 12, uint32_t);
VMM_FIELD(vmm_machine_info, ram_size, 16, uint64_t);
VMM_FIELD(vmm_machine_info, kernel_address, 24, uint64_t);
VMM_FIELD(vmm_machine_info, kernel_entry, 32, uint64_t);
VMM_FIELD(vmm_machine_info, kernel_size, 40, uint64_t);
VMM_FIELD(vmm_machine_info, initrd_address, 48, uint64_t);
VMM_FIELD(vmm_machine_info, initrd_size, 56, uint64_t);
VMM_FIELD(vmm_machine_info, cmdline_size, 64, uint64_t);

VMM_FIELD(vmm_host_api, machine_info, 192, machine_info_fn);
VMM_FIELD(vmm_host_api, machine_blob, 200, machine_blob_fn);
/* ACPI sleep (acpi-pm) */
VMM_FIELD(vmm_host_api, request_suspend, 208, request_suspend_fn);
#endif

/* ---- ABI 1.6: settings' defaults, ranges and choices ----------------------- */
#if VMM_ABI_MINOR >= 6
typedef const char *const *string_list;
VMM_CONSTANT(VMM_KEY_HAS_RANGE, 0x1);
VMM_FIELD(vmm_config_key, default_text, 32, string);
VMM_FIELD(vmm_config_key, limits, 40, uint32_t);
VMM_FIELD(vmm_config_key, reserved_1_6, 44, uint32_t);
VMM_FIELD(vmm_config_key, min_value, 48, int64_t);
VMM_FIELD(vmm_config_key, max_value, 56, int64_t);
VMM_FIELD(vmm_config_key, choices, 64, string_list);
VMM_CONSTANT(VMM_KEY_SOCKET_CONNECT, 0x4); /* sockets for sandboxed plugins (hostdesc) */
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
#elif VMM_ABI_MINOR == 4
VMM_SIZE(vmm_config_key, 32);
VMM_SIZE(vmm_region_decl, 24);
VMM_SIZE(vmm_setting, 48);
VMM_SIZE(vmm_region, 16);
VMM_SIZE(vmm_host_api, 192);
VMM_SIZE(vmm_device_create_info, 64);
VMM_SIZE(vmm_plugin_descriptor, 152);
VMM_SIZE(vmm_vcpu_registers, 152);
VMM_SIZE(vmm_vcpu_info, 32);
VMM_SIZE(vmm_exit_event, 88);
VMM_SIZE(vmm_irq_decl, 16);
VMM_SIZE(vmm_doorbell, 32);
#elif VMM_ABI_MINOR == 5
VMM_SIZE(vmm_config_key, 32);
VMM_SIZE(vmm_region_decl, 24);
VMM_SIZE(vmm_setting, 48);
VMM_SIZE(vmm_region, 16);
VMM_SIZE(vmm_host_api, 216);
VMM_SIZE(vmm_device_create_info, 64);
VMM_SIZE(vmm_plugin_descriptor, 152);
VMM_SIZE(vmm_vcpu_registers, 152);
VMM_SIZE(vmm_vcpu_info, 32);
VMM_SIZE(vmm_exit_event, 88);
VMM_SIZE(vmm_irq_decl, 16);
VMM_SIZE(vmm_doorbell, 32);
VMM_SIZE(vmm_machine_info, 72);
#elif VMM_ABI_MINOR == 6
VMM_SIZE(vmm_config_key, 72);
VMM_SIZE(vmm_region_decl, 24);
VMM_SIZE(vmm_setting, 48);
VMM_SIZE(vmm_region, 16);
VMM_SIZE(vmm_host_api, 216);
VMM_SIZE(vmm_device_create_info, 64);
VMM_SIZE(vmm_plugin_descriptor, 152);
VMM_SIZE(vmm_vcpu_registers, 152);
VMM_SIZE(vmm_vcpu_info, 32);
VMM_SIZE(vmm_exit_event, 88);
VMM_SIZE(vmm_irq_decl, 16);
VMM_SIZE(vmm_doorbell, 32);
VMM_SIZE(vmm_machine_info, 72);
#else
#error "no recorded sizes for this ABI minor: record them in abi_layout_check.c"
#endif
