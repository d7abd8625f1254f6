/*
 * vmm/plugin_abi.h - the binary interface between the vmm core and its plugins.
 *
 * This C header is the only thing that crosses the shared-object boundary.
 * C++ plugin authors normally include <vmm/sdk.hpp> instead, which builds on it.
 *
 * Rules that keep old plugins loading in new hosts:
 *  - Only fixed-width integers, pointers, C strings, C structs and function
 *    pointers appear here. No C++ types, and no exception may cross a call.
 *  - Every struct starts with `uint32_t struct_size`, set by whoever fills it.
 *    A reader copies min(struct_size, sizeof) into zeroed storage, so a field
 *    its peer did not know reads as 0 / NULL.
 *  - A struct grows only at its end, and every growth bumps VMM_ABI_MINOR.
 *    Moving, resizing or removing a field bumps VMM_ABI_MAJOR.
 *  - Arrays of structs are walked with each element's struct_size as stride.
 *
 * Version check: a plugin exports `vmm_plugin_abi_version`, which the host
 * reads before calling any function the plugin exports. The host keeps the
 * plugin only if the majors are equal and the plugin's minor is not newer
 * than the host's. Reading the variable needs the shared object opened
 * (dlopen), and opening it runs its static constructors and ELF init
 * functions first, whatever its version: keep them trivial (no work, no
 * output, no exception), since a plugin of another ABI gets that far too.
 * A plugin using a service added in a later minor checks that the host's
 * table is long enough (struct_size) before calling it.
 *
 * History: 1.0 the first; 1.1 vmm_host_api.region_address; 1.2 exit
 * observers (vmm_plugin_descriptor.observe_exit) and vCPU services
 * (vmm_host_api.vcpu_count ... set_vcpu_registers); 1.3 device state
 * (vmm_plugin_descriptor.save_state, load_state); 1.4 the device runtime:
 * interrupt lines and MSI, timers, file-descriptor watches, doorbells
 * (vmm_host_api.irq_set_level ... clock_ns), a device lifecycle
 * (vmm_plugin_descriptor.realize, quiesce, resume) and declared interrupt
 * lines (vmm_plugin_descriptor.default_irqs, vmm_device_create_info.irq_count);
 * 1.5 machine facts for platform devices such as fw_cfg and the CMOS
 * (vmm_host_api.machine_info, machine_blob) and ACPI sleep
 * (vmm_host_api.request_suspend); 1.6 settings' defaults, ranges and
 * choices (vmm_config_key.default_text ... choices) and sockets for
 * sandboxed plugins (VMM_KEY_SOCKET_CONNECT, a vmm_config_key.reserved flag).
 *
 * A device's life (1.4), in the order the host calls it:
 *  1. create      before the VM exists: check settings and regions, allocate.
 *                 Every configuration error is reported here, before anything
 *                 runs. Runtime services (interrupts, timers, watches,
 *                 doorbells) are refused with VMM_ERROR_UNSUPPORTED and a
 *                 logged line naming the service.
 *  2. realize     once the VM, its memory and its irqchip exist and before
 *                 any vCPU runs: acquire runtime resources (timers, watches,
 *                 doorbells), raise a line if the reset state says so. An
 *                 error here is reported like a create error (exit status 2).
 *  3. running     read/write from vCPU threads; timer, watch and doorbell
 *                 callbacks from the VM's event-loop thread; observe_exit.
 *                 Unless the plugin is VMM_PLUGIN_THREAD_SAFE, the host holds
 *                 the instance's lock around every one of these calls, so a
 *                 plugin that is not thread-safe is never entered twice.
 *  4. quiesce     bring the device to rest: the host delivers no timer, watch
 *                 or doorbell callback from now on (expirations and doorbell
 *                 rings that happen meanwhile are counted and delivered after
 *                 resume); the device stops threads of its own. vCPUs are
 *                 paused around it, so no read/write arrives either.
 *     save_state  (optional) the state of a device at rest.
 *     resume      undo quiesce: the device goes on as it was.
 *  5. destroy     the last call. The host releases every timer, watch and
 *                 doorbell the instance still holds after it returns, and
 *                 refuses (error status and a logged line) any service the
 *                 plugin calls during or after destroy, except release.
 * A hot swap runs: new.create; vCPUs paused; old.quiesce; old.save_state;
 * old's doorbells released; new.realize; new.load_state; vCPUs resumed;
 * old.destroy. A plugin without quiesce (1.0-1.3) is brought to rest by
 * save_state alone, as before; one without realize does all its work in
 * create, as before.
 *
 * Lifetimes: strings and arrays the host passes are valid for the duration
 * of the call that received them, except `vmm_device_create_info` members,
 * which stay valid until `destroy` returns. Everything a plugin's descriptor
 * points to must stay valid while the plugin is loaded (static storage).
 */
#ifndef VMM_PLUGIN_ABI_H
#define VMM_PLUGIN_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMM_ABI_MAJOR 1u
#define VMM_ABI_MINOR 6u
#define VMM_ABI_MAKE_VERSION(major, minor) ((uint32_t)(((major) << 16) | ((minor) & 0xffffu)))
#define VMM_ABI_VERSION VMM_ABI_MAKE_VERSION(VMM_ABI_MAJOR, VMM_ABI_MINOR)
#define VMM_ABI_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define VMM_ABI_VERSION_MINOR(v) ((uint32_t)(v) & 0xffffu)

/* Names of the two symbols every plugin exports. */
#define VMM_PLUGIN_ABI_VERSION_SYMBOL "vmm_plugin_abi_version"
#define VMM_PLUGIN_DESCRIBE_SYMBOL "vmm_plugin_describe"

/* ---- status codes ------------------------------------------------------ */

typedef int32_t vmm_status;
#define VMM_OK 0
#define VMM_ERROR (-1)             /* failure; the plugin logged why */
#define VMM_ERROR_INVALID (-2)     /* bad argument or configuration */
#define VMM_ERROR_RANGE (-3)       /* address, offset or length out of range */
#define VMM_ERROR_NO_MEMORY (-4)
#define VMM_ERROR_UNSUPPORTED (-5) /* the access or request is not implemented */
#define VMM_ERROR_EXCEPTION (-6)   /* a C++ exception was stopped at the boundary */

/* ---- enumerations (passed as uint32_t) --------------------------------- */

#define VMM_LOG_TRACE 0u
#define VMM_LOG_DEBUG 1u
#define VMM_LOG_INFO 2u
#define VMM_LOG_WARN 3u
#define VMM_LOG_ERROR 4u
#define VMM_LOG_CRITICAL 5u

#define VMM_SPACE_PIO 1u  /* x86 port I/O, ports 0..0xffff */
#define VMM_SPACE_MMIO 2u /* guest-physical memory-mapped I/O */

#define VMM_VALUE_BOOL 1u
#define VMM_VALUE_INT 2u
#define VMM_VALUE_FLOAT 3u
#define VMM_VALUE_STRING 4u

/* vmm_config_key.reserved (ABI 1.5, isolated plugins): a VMM_VALUE_STRING
 * setting that names a file the plugin opens. The plugin still opens it by
 * that path (open/fopen); in-process nothing changes. For an isolated device
 * (`isolate = true`, docs/isolation.md) the host opens the file and hands its
 * descriptor to the plugin's process, whose sandbox forbids opening files:
 * the plugin's open() of exactly that path returns a copy of it. Older
 * plugins leave the field zero. No struct changes layout. */
#define VMM_KEY_PATH_WRITE 0x1u /* a file it writes: created if missing (0644) */
#define VMM_KEY_PATH_READ 0x2u  /* a file it reads */
/* ---- ABI 1.6: sockets for sandboxed plugins (hostdesc) ----
 * A VMM_VALUE_STRING setting naming a UNIX stream socket the plugin connects
 * to: the value's text after "unix:" or "connect:" when it starts so, else
 * the whole value. In-process nothing changes. For an isolated device the
 * host connects (non-blocking: a listener with a full backlog fails with
 * EAGAIN instead of waiting) and hands the connected descriptor to the
 * plugin's process, whose sandbox forbids sockets: the plugin's
 * socket(AF_UNIX, SOCK_STREAM) + connect() to exactly that path gives it a
 * copy; a failed connect fails the plugin's with the host's errno. Not to be
 * combined with VMM_KEY_PATH_*. */
#define VMM_KEY_SOCKET_CONNECT 0x4u

/* vmm_config_key.limits (ABI 1.6) */
#define VMM_KEY_HAS_RANGE 0x1u /* min_value..max_value bound an integer or float setting */

/* vmm_plugin_descriptor.flags */
#define VMM_PLUGIN_THREAD_SAFE 0x1u /* callbacks may run concurrently on one instance */
/* ABI 1.2: keep every vCPU's registers as of its last exit, so that
 * get_vcpu_registers works for vCPUs other than the calling one. Costs a
 * register copy per exit while such a plugin is loaded. */
#define VMM_PLUGIN_NEEDS_VCPU_STATE 0x2u

/* vmm_irq_decl.flags (ABI 1.4) */
#define VMM_IRQ_EDGE 0x0u   /* pulses (ISA style); the default */
#define VMM_IRQ_LEVEL 0x1u  /* held by raise, released by lower */
#define VMM_IRQ_SHARED 0x2u /* may share its line with other devices whose line
                             * is also LEVEL|SHARED: the line is then the OR
                             * of every sharer's level */
/* vmm_irq_decl.line: no default line; the machine file must give one. */
#define VMM_IRQ_NO_DEFAULT 0xffffffffu

/* vmm_device_create_info.flags (ABI 1.4) */
#define VMM_CREATE_IRQCHIP 0x1u /* the machine has an interrupt controller:
                                 * the device's lines reach the guest. Without
                                 * one, raising a line succeeds and does nothing,
                                 * as a wire to no controller would. */

/* Events of a file-descriptor watch (ABI 1.4), also passed to its callback. */
#define VMM_FD_READABLE 0x1u
#define VMM_FD_WRITABLE 0x2u
#define VMM_FD_HANGUP 0x4u /* the peer closed (callback only) */
#define VMM_FD_ERROR 0x8u  /* an error condition (callback only) */

/* vmm_doorbell.flags (ABI 1.4) */
#define VMM_DOORBELL_MATCH_VALUE 0x1u /* only writes of `value` ring */

/* vmm_vcpu_info.state (ABI 1.2) */
#define VMM_VCPU_CREATED 0u /* not started yet */
#define VMM_VCPU_RUNNING 1u
#define VMM_VCPU_HALTED 2u
#define VMM_VCPU_STOPPED 3u
#define VMM_VCPU_FAILED 4u

/* ---- what a plugin declares --------------------------------------------- */

/* A setting the plugin accepts in its device's `settings` table. */
typedef struct vmm_config_key {
    uint32_t struct_size;
    uint32_t type;           /* VMM_VALUE_* */
    const char *name;
    const char *description; /* one line, shown by `vmm plugins` */
    uint32_t required;       /* non-zero: the machine file must set it */
    uint32_t reserved;       /* zero; ABI 1.5: VMM_KEY_PATH_*, 1.6: VMM_KEY_SOCKET_CONNECT for a string */

    /* ---- ABI 1.6: defaults, ranges and choices (`vmm plugins NAME` shows
     * them; the host checks machine files against them). The host checks
     * them when it loads the plugin: a default that is not of the key's
     * type, outside its range or not among its choices, min > max, or an
     * empty choice is a malformed plugin. ---- */
    /* The value the plugin uses when the machine file sets none, written as
     * in a machine file without quotes: "115200", "0x3f8", "true", "exit".
     * Text, not a typed union: it is shown exactly as the author wrote it
     * (0x3f8 stays hex), one field serves every type, and "" is a real
     * string default distinct from NULL (none declared). The host does not
     * hand it to the device: the plugin applies its own default (the C++
     * SDK's Settings::get(key) reads this very field). */
    const char *default_text;
    uint32_t limits;       /* VMM_KEY_HAS_RANGE */
    uint32_t reserved_1_6; /* zero */
    int64_t min_value;     /* with VMM_KEY_HAS_RANGE: inclusive bounds */
    int64_t max_value;
    /* NULL, or the only values a string setting accepts: a NULL-terminated
     * array of non-empty strings (at most 64). */
    const char *const *choices;
} vmm_config_key;

/* An address range the device occupies when the machine file gives none. */
typedef struct vmm_region_decl {
    uint32_t struct_size;
    uint32_t space; /* VMM_SPACE_* */
    uint64_t base;  /* absolute: chosen by the plugin author as a default */
    uint64_t size;  /* ports or bytes; never zero */
} vmm_region_decl;

/* ABI 1.4: an interrupt line the device uses, with its default number (a GSI:
 * 0-15 reach the PIC and the IOAPIC, 16-23 the IOAPIC only). The machine
 * file may move it (`irq = 4`, `irqs = [...]`); the device never learns the
 * number: it names its lines 0..irq_count-1, in this order. */
typedef struct vmm_irq_decl {
    uint32_t struct_size;
    uint32_t line;  /* default line, or VMM_IRQ_NO_DEFAULT */
    uint32_t flags; /* VMM_IRQ_* */
    uint32_t reserved;
} vmm_irq_decl;

/* ---- what the host hands a device --------------------------------------- */

/* One setting from the machine file, already checked against its key's type. */
typedef struct vmm_setting {
    uint32_t struct_size;
    uint32_t type;            /* VMM_VALUE_* */
    const char *key;
    int64_t int_value;        /* VMM_VALUE_INT, and VMM_VALUE_BOOL as 0 or 1 */
    double float_value;       /* VMM_VALUE_FLOAT */
    const char *string_value; /* VMM_VALUE_STRING: NUL-terminated UTF-8 */
    uint64_t string_length;   /* bytes before the terminating NUL */
} vmm_setting;

/* One range the device occupies. Its base stays with the host: a device sees
 * only the region's index and an offset inside it. */
typedef struct vmm_region {
    uint32_t struct_size;
    uint32_t space; /* VMM_SPACE_* */
    uint64_t size;
} vmm_region;

/* ABI 1.2: a vCPU's general-purpose registers. */
typedef struct vmm_vcpu_registers {
    uint32_t struct_size;
    uint32_t reserved;
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
} vmm_vcpu_registers;

/* ABI 1.2: what the host knows about one vCPU. */
typedef struct vmm_vcpu_info {
    uint32_t struct_size;
    uint32_t index;
    int64_t host_thread_id; /* the Linux thread id running it; 0 before it starts */
    uint64_t exits;         /* VM exits so far */
    uint32_t state;         /* VMM_VCPU_* */
    uint32_t reserved;
} vmm_vcpu_info;

/* ABI 1.2: one VM exit, as an observer sees it once the host handled it. */
typedef struct vmm_exit_event {
    uint32_t struct_size;
    uint32_t vcpu;           /* index of the vCPU that exited */
    uint32_t reason;         /* KVM_EXIT_* from <linux/kvm.h> */
    uint32_t space;          /* VMM_SPACE_PIO or VMM_SPACE_MMIO for I/O exits, else 0 */
    uint64_t address;        /* the port, or the guest-physical address */
    uint32_t size;           /* bytes per access */
    uint32_t count;          /* accesses in a row (string I/O), else 1 */
    uint64_t data;           /* the (first) access's value, little-endian */
    uint32_t is_write;       /* 1: OUT / MMIO write; 0: IN / MMIO read */
    uint16_t cs_selector;    /* guest CS at the exit */
    uint16_t reserved;
    uint64_t rip;            /* guest RIP as KVM reports it: the instruction
                              * after an OUT, an MMIO write or a HLT; the
                              * access itself for an IN or an MMIO read */
    uint64_t guest_ns;       /* time in KVM_RUN before this exit */
    uint64_t handling_ns;    /* time the VMM took to handle it */
    const char *device;      /* instance owning the address; NULL if none */
    const char *reason_name; /* "IO", "MMIO", "HLT", ... */
} vmm_exit_event;

/* ABI 1.4: a register of the device's own that the guest writes to ring it.
 * The host registers it with KVM as an ioeventfd: a matching guest write is
 * absorbed in the kernel, with no return to userspace, and the device's
 * callback runs on the event loop. A write of another size (or value, with
 * VMM_DOORBELL_MATCH_VALUE) and every read still reach read/write. */
typedef struct vmm_doorbell {
    uint32_t struct_size;
    uint32_t region; /* the device's region index */
    uint64_t offset; /* inside that region */
    uint32_t size;   /* 1, 2 or 4 bytes (PIO); 1, 2, 4 or 8 (MMIO) */
    uint32_t flags;  /* VMM_DOORBELL_* */
    uint64_t value;  /* with VMM_DOORBELL_MATCH_VALUE */
} vmm_doorbell;

/* ABI 1.4: a runtime callback (timer, watch, doorbell), run on the VM's
 * event-loop thread under the instance's lock (unless thread-safe).
 * `handle` is the one the registration returned; `detail` is, for a timer,
 * the number of expirations since the last call; for a watch, the
 * VMM_FD_* events that happened; for a doorbell, the rings since the last
 * call. A callback may call any host service, including releasing its own
 * handle. */
typedef void (*vmm_event_fn)(void *opaque, uint64_t handle, uint64_t detail);

/* ABI 1.5 (machine facts): what a platform device such as fw_cfg or the
 * CMOS tells firmware about the machine. The host fills
 * min(struct_size, its own size) bytes and zeroes nothing beyond: set
 * struct_size and zero the rest before the call. The "kernel" is the
 * machine file's first RAM [[image]]; the "initrd" the first module of the
 * first image that has modules; the "cmdline" the first image's command
 * line. Their bytes come from machine_blob. */
typedef struct vmm_machine_info {
    uint32_t struct_size;
    uint32_t vcpu_count;     /* vCPUs the machine has */
    uint32_t max_vcpus;      /* vCPUs it may ever have (no hotplug: vcpu_count) */
    uint32_t flags;          /* VMM_MACHINE_* */
    uint64_t ram_size;       /* bytes of RAM from guest-physical 0 */
    uint64_t kernel_address; /* lowest guest-physical byte the kernel fills */
    uint64_t kernel_entry;   /* where the boot vCPU starts it; 0 if none */
    uint64_t kernel_size;    /* bytes of the blob "kernel" (as loaded, bss
                              * included); 0: no kernel */
    uint64_t initrd_address; /* where the VMM placed it */
    uint64_t initrd_size;    /* bytes of the blob "initrd"; 0: none */
    uint64_t cmdline_size;   /* bytes of the blob "cmdline" with its NUL; 0: none */
} vmm_machine_info;

/* vmm_machine_info.flags (ABI 1.5) */
#define VMM_MACHINE_IRQCHIP 0x1u /* in-kernel LAPIC/IOAPIC/PIC */
#define VMM_MACHINE_PIT 0x2u     /* in-kernel i8254 PIT */

/* Opaque: identifies the device instance in calls back into the host. */
typedef struct vmm_host_context vmm_host_context;

/* Services the host offers every device instance. All may be called from any
 * thread; none may be called after `destroy` has returned. */
typedef struct vmm_host_api {
    uint32_t struct_size;
    uint32_t abi_version; /* the host's VMM_ABI_VERSION */

    /* Log a line through the host's logger named after the instance. */
    void (*log)(vmm_host_context *host, uint32_t level, const char *message);

    /* Copy between guest-physical memory and a buffer. VMM_ERROR_RANGE unless
     * [gpa, gpa + size) lies wholly inside guest RAM (reads may also target
     * ROM). Nothing is copied on error. */
    vmm_status (*guest_read)(vmm_host_context *host, uint64_t gpa, void *buffer, uint64_t size);
    vmm_status (*guest_write)(vmm_host_context *host, uint64_t gpa, const void *buffer, uint64_t size);

    /* Direct pointer to guest RAM [gpa, gpa + size), or NULL when the range is
     * not wholly inside one RAM region. Valid until the instance is destroyed.
     * The guest may change this memory at any moment: read each value once. */
    void *(*guest_map)(vmm_host_context *host, uint64_t gpa, uint64_t size);

    /* End the VM; `vmm` exits with `exit_status`. The first request wins. */
    void (*request_stop)(vmm_host_context *host, int32_t exit_status);

    /* ---- ABI 1.1 ---- */

    /* The guest-physical base of the device's region `region`, for the rare
     * protocol that publishes a device's own address to the guest (a
     * discovery table). Accesses still arrive as offsets; VMM_ERROR_RANGE
     * for a region the device does not have. */
    vmm_status (*region_address)(vmm_host_context *host, uint32_t region, uint64_t *address);

    /* ---- ABI 1.2 ---- */

    /* The machine's vCPUs (also during create, before they exist: their
     * vcpu_info then says VMM_VCPU_CREATED). */
    uint32_t (*vcpu_count)(vmm_host_context *host);
    /* The vCPU whose exit the current call is handling, or -1 when called
     * from another thread (a device's own thread, create, destroy). */
    int32_t (*current_vcpu)(vmm_host_context *host);
    vmm_status (*vcpu_info)(vmm_host_context *host, uint32_t vcpu, vmm_vcpu_info *info);
    /* The calling vCPU's registers now; another vCPU's as saved at its last
     * exit (VMM_ERROR_UNSUPPORTED unless the plugin set
     * VMM_PLUGIN_NEEDS_VCPU_STATE). VMM_ERROR_RANGE for an unknown vCPU. */
    vmm_status (*get_vcpu_registers)(vmm_host_context *host, uint32_t vcpu, vmm_vcpu_registers *registers);
    /* Only the calling vCPU's (VMM_ERROR_INVALID otherwise): they take
     * effect when it re-enters the guest. On the exit of a port IN or an
     * MMIO read, KVM completes the pending access itself on that re-entry:
     * it writes the value read into the instruction's destination register,
     * over what was set here (for IN: AL, AX or EAX of RAX, a 4-byte IN
     * clearing the upper half; for an MMIO read, whichever register the
     * instruction names). A read returns its result through its data; set
     * result registers on exits that write none (an OUT, an MMIO write). */
    vmm_status (*set_vcpu_registers)(vmm_host_context *host, uint32_t vcpu, const vmm_vcpu_registers *registers);

    /* ---- ABI 1.4: the device runtime ---- */
    /* Every service below is refused before realize and from destroy on
     * (VMM_ERROR_UNSUPPORTED, and a logged line naming the service), except
     * release, which always works. Each is a message or a file descriptor
     * underneath (irqfd, KVM_IRQ_LINE, timerfd, ioeventfd), so a later
     * host can serve a device living in another process unchanged. */

    /* Interrupt line `line` (0..irq_count-1, the device's own numbering):
     * level 1 raises it, 0 lowers it. VMM_ERROR_RANGE for a line the device
     * does not have. */
    vmm_status (*irq_set_level)(vmm_host_context *host, uint32_t line, uint32_t level);
    /* An edge: raise and lower at once (an eventfd write: KVM's irqfd). */
    vmm_status (*irq_pulse)(vmm_host_context *host, uint32_t line);
    /* A message-signalled interrupt: `address` in the local APICs' window
     * 0xfee00000-0xfeefffff (VMM_ERROR_RANGE otherwise), `data` the vector
     * and delivery mode. VMM_ERROR_UNSUPPORTED without an irqchip. */
    vmm_status (*msi_send)(vmm_host_context *host, uint64_t address, uint32_t data);
    /* The eventfd behind line `line`'s irqfd: an 8-byte write of 1 pulses
     * the line in the kernel, from any thread or process. Owned by the host
     * (do not close it); -1 without an irqchip or for a bad line. */
    int32_t (*irq_eventfd)(vmm_host_context *host, uint32_t line);

    /* A timer on CLOCK_MONOTONIC, created disarmed. */
    vmm_status (*timer_create)(vmm_host_context *host, vmm_event_fn fn, void *opaque, uint64_t *timer);
    /* Fire after `delay_ns` (0: as soon as possible), then every `period_ns`
     * (0: once). Re-arming replaces the previous setting. */
    vmm_status (*timer_arm)(vmm_host_context *host, uint64_t timer, uint64_t delay_ns, uint64_t period_ns);
    /* Disarm; expirations not yet delivered are dropped. */
    vmm_status (*timer_cancel)(vmm_host_context *host, uint64_t timer);

    /* Watch a file descriptor the device owns for VMM_FD_READABLE and/or
     * VMM_FD_WRITABLE (hang-ups and errors are always reported). The device
     * keeps owning the descriptor: release the watch before closing it. */
    vmm_status (*fd_watch)(vmm_host_context *host, int32_t fd, uint32_t events, vmm_event_fn fn, void *opaque,
                           uint64_t *watch);
    /* Change what a watch waits for (0: nothing for now). */
    vmm_status (*fd_watch_update)(vmm_host_context *host, uint64_t watch, uint32_t events);

    /* Register a doorbell (see vmm_doorbell). VMM_ERROR_RANGE when it does
     * not lie inside the region, VMM_ERROR_INVALID for a bad size. */
    vmm_status (*doorbell_add)(vmm_host_context *host, const vmm_doorbell *doorbell, vmm_event_fn fn, void *opaque,
                               uint64_t *handle);

    /* Release a timer, watch or doorbell: once it returns, its callback is
     * not running and will not run again. From inside that very callback it
     * returns at once (the running call finishes). */
    vmm_status (*release)(vmm_host_context *host, uint64_t handle);

    /* Nanoseconds on CLOCK_MONOTONIC, the timers' clock. */
    uint64_t (*clock_ns)(vmm_host_context *host);

    /* ---- ABI 1.5: machine facts (fw_cfg, the CMOS) ---- */
    /* Usable in every phase from create on. Both are plain requests with
     * copied answers, so they stay expressible as messages. */

    /* Fill `info` (see vmm_machine_info). VMM_ERROR_INVALID when
     * info->struct_size is under 8. */
    vmm_status (*machine_info)(vmm_host_context *host, vmm_machine_info *info);
    /* Copy bytes [offset, offset + size) of the machine's blob `name`
     * ("kernel", "initrd", "cmdline" - see vmm_machine_info - or
     * "machine_file", the machine file's path, to resolve relative paths
     * as the VMM does) into `buffer`, and set *blob_size (when not NULL)
     * to the blob's whole size: size 0 asks for the size alone.
     * VMM_ERROR_INVALID for an unknown name, VMM_ERROR_RANGE past the
     * blob's end (nothing copied, *blob_size still set). */
    vmm_status (*machine_blob)(vmm_host_context *host, const char *name, uint64_t offset, void *buffer,
                               uint64_t size, uint64_t *blob_size);

    /* ---- ABI 1.5: ACPI sleep states (the acpi-pm device) ---- */

    /* Suspend to RAM (ACPI S3): every vCPU stops at its next exit boundary
     * and stays stopped, guest RAM and devices untouched (timers, watches
     * and interrupt lines go on), until a wake event: an interrupt line a
     * device raises or pulses, or a control-socket `wake` request. Then
     * the boot vCPU restarts in real mode at the FACS firmware waking
     * vector (CS = vector >> 4, IP = vector & 0xf) and the others wait for
     * INIT/SIPI. Returns at once. VMM_ERROR_UNSUPPORTED on a machine
     * without ACPI tables (no FACS to take the vector from). */
    vmm_status (*request_suspend)(vmm_host_context *host);
} vmm_host_api;

typedef struct vmm_device_create_info {
    uint32_t struct_size;
    uint32_t reserved;           /* zero */
    const char *instance_name;   /* the device's name in the machine file */
    const vmm_host_api *host_api;
    vmm_host_context *host;      /* pass back to every host_api call */
    const vmm_setting *settings; /* only keys the plugin declared */
    uint32_t setting_count;
    uint32_t region_count;
    const vmm_region *regions;   /* index i is `region` in read/write */
    /* ---- ABI 1.4 ---- */
    uint32_t irq_count; /* interrupt lines, numbered 0..irq_count-1 */
    uint32_t flags;     /* VMM_CREATE_* */
} vmm_device_create_info;

/* ---- the plugin's descriptor -------------------------------------------- */

typedef struct vmm_plugin_descriptor {
    uint32_t struct_size;
    uint32_t flags;          /* VMM_PLUGIN_* */
    const char *name;        /* what machine files write in `plugin = "..."` */
    const char *version;     /* the plugin's own version, e.g. "1.2.0" */
    const char *description; /* one line */

    const vmm_config_key *config_keys;
    uint32_t config_key_count;
    uint32_t default_region_count;
    const vmm_region_decl *default_regions;

    /* Make an instance. On failure, log why and return an error. */
    vmm_status (*create)(const vmm_device_create_info *info, void **instance);
    void (*destroy)(void *instance);

    /* A guest access of `size` bytes (1, 2 or 4 for PIO; 1, 2, 4 or 8 for
     * MMIO) at `offset` inside region `region`; the host guarantees that
     * offset + size <= the region's size. Data is little-endian. When `read`
     * fails the guest reads all ones. NULL means the device ignores writes and
     * reads as all ones. */
    vmm_status (*read)(void *instance, uint32_t region, uint64_t offset, void *data, uint32_t size);
    vmm_status (*write)(void *instance, uint32_t region, uint64_t offset, const void *data, uint32_t size);

    /* ---- ABI 1.2 ---- */

    /* Non-NULL: called after every exit of every vCPU, once handled, on that
     * vCPU's thread (serialized unless VMM_PLUGIN_THREAD_SAFE). The event is
     * valid during the call only. Keep it cheap: it is on the exit path. */
    void (*observe_exit)(void *instance, const vmm_exit_event *event);

    /* ---- ABI 1.3 ---- */

    /* Device state, so that a device can move to another plugin (hot swap)
     * without the guest noticing. Both NULL: the device has no state to move.
     *
     * save_state first brings the device to rest (its own threads stopped,
     * pending work done), then writes its state into `buffer` and sets
     * *size. If `capacity` is too small it sets *size to what it needs and
     * returns VMM_ERROR_RANGE; the host calls again. After a successful
     * save_state the host either destroys the instance or hands the blob
     * back to its load_state (to resume it). A save_state that fails (any
     * other error) must leave the device running as it was before the call
     * (threads it stopped started again): the host then keeps this
     * instance, the swap fails, and the guest goes on with the device as
     * it was.
     *
     * The blob is the plugin's own format. It should name that format and
     * its version (the C++ SDK's StateWriter does), so that load_state can
     * refuse, with VMM_ERROR_INVALID and a logged reason, a blob it does not
     * understand. Plugins that implement the same device share the format. */
    vmm_status (*save_state)(void *instance, void *buffer, uint64_t capacity, uint64_t *size);
    vmm_status (*load_state)(void *instance, const void *data, uint64_t size);

    /* ---- ABI 1.4 ---- */

    /* The interrupt lines the device uses (see vmm_irq_decl). */
    uint32_t default_irq_count;
    uint32_t reserved;
    const vmm_irq_decl *default_irqs;

    /* The lifecycle (see "A device's life" above). Each may be NULL. */
    vmm_status (*realize)(void *instance);
    vmm_status (*quiesce)(void *instance);
    vmm_status (*resume)(void *instance);
} vmm_plugin_descriptor;

/* ---- the two exports ---------------------------------------------------- */

typedef const vmm_plugin_descriptor *(*vmm_plugin_describe_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* VMM_PLUGIN_ABI_H */
