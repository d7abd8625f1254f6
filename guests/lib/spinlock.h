/*
 * spinlock.h - a test-and-set spinlock for guests running on several vCPUs.
 *
 * spin_lock() swaps 1 into the lock word with XCHG (implicitly locked on
 * x86, and a full barrier) until it reads back 0; while the lock is held
 * elsewhere it spins on plain reads with PAUSE, so the waiting vCPU does
 * not keep the cache line bouncing. spin_unlock() is a release store: on
 * x86 an ordinary store after a compiler barrier.
 *
 * A spinlock_t must live in memory every vCPU sees at the same address and
 * start at 0 (SPINLOCK_INIT, or zeroed .bss). Header-only; 32- and 64-bit.
 */
#ifndef GUEST_LIB_SPINLOCK_H
#define GUEST_LIB_SPINLOCK_H

#include <stdint.h>

typedef struct {
    volatile uint32_t locked; /* 0: free, 1: held */
} spinlock_t;

#define SPINLOCK_INIT {0}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* Atomically store `value` into *word and return the previous value. */
static inline uint32_t atomic_xchg32(volatile uint32_t *word, uint32_t value)
{
    __asm__ volatile("xchgl %0, %1" : "+r"(value), "+m"(*word) : : "memory");
    return value;
}

static inline void spin_lock(spinlock_t *lock)
{
    while (atomic_xchg32(&lock->locked, 1) != 0) {
        while (lock->locked != 0)
            cpu_relax();
    }
}

/* 1 if the lock was taken, 0 if it is held elsewhere. */
static inline int spin_trylock(spinlock_t *lock)
{
    return atomic_xchg32(&lock->locked, 1) == 0;
}

static inline void spin_unlock(spinlock_t *lock)
{
    __asm__ volatile("" ::: "memory");
    lock->locked = 0;
}

#endif /* GUEST_LIB_SPINLOCK_H */
