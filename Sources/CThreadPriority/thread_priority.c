/* libdispatch imitates Darwin's QoS classes on Linux by renicing its worker threads: its
   event manager thread asks for nice -4. A service may not lower its nice value unless
   RLIMIT_NICE (systemd's LimitNICE=) or CAP_SYS_NICE allows it, so every start logged
   "Failed to set thread priority for worker thread ... errno=13" to the journal.

   This definition takes the place of the C library's setpriority(2) in the daemon (the
   static libdispatch links to it; a dynamic one finds it in the executable first). It
   asks the kernel as before; when a lower nice is refused with EACCES it sets the lowest
   nice RLIMIT_NICE allows, if that is still lower than the thread's own, and otherwise
   leaves the thread where it is, and reports success: what Dispatch asked for is a hint,
   and an unprivileged service cannot do more. Any other request or error is unchanged. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "thread_priority.h"

static long raw_setpriority(int which, id_t who, int prio) {
    return syscall(SYS_setpriority, which, who, prio);
}

/* The nice value of `who`, or 20 (the lowest priority) when it cannot be read. The raw
   syscall returns 20 - nice, never negative, so no errno dance is needed. */
static int current_nice(int which, id_t who) {
    long r = syscall(SYS_getpriority, which, who);
    return r < 0 ? 20 : 20 - (int)r;
}

int setpriority(__priority_which_t which, id_t who, int prio) {
    long r = raw_setpriority(which, who, prio);
    if (r == 0 || errno != EACCES) return (int)r;
    int current = current_nice(which, who);
    if (prio >= current) return (int)r; /* not a raise: a real refusal, say it */
    struct rlimit limit;
    if (getrlimit(RLIMIT_NICE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur <= 40) {
        int lowest = 20 - (int)limit.rlim_cur;
        if (lowest > prio && lowest < current && raw_setpriority(which, who, lowest) == 0) return 0;
    }
    errno = 0;
    return 0;
}

void sluice_thread_priority_link(void) {}
