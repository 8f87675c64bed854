/* bench_sched.c: how long this process's threads waited for a CPU (Linux schedstat).
 *
 * PoCL's pthread device runs a kernel's work-groups on one worker thread per core, woken for each
 * launch. Linux wakes a thread on the CPU it last ran on; once both workers last ran on the same
 * CPU, one of them waits in that CPU's run queue while the other runs every work-group, and the
 * idle CPU does not take the waiting one (a task that ran within the last 0.5 ms counts as cache
 * hot and is left where it is; the periodic balance comes milliseconds later). The kernel then
 * takes one thread's time or more. Such a wait is invisible in the kernel's own events, so the
 * outside method reports it per run (docs/performance-history.md, "why norm2's time moved"). */
#define _POSIX_C_SOURCE 200809L

#include "bench.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>

double sched_wait_ms(void) {
#ifdef __linux__
    DIR *dir = opendir("/proc/self/task");
    if (!dir)
        return NAN;
    double total_ns = 0;
    int seen = 0;
    struct dirent *ent;
    while ((ent = readdir(dir)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        char path[96];
        snprintf(path, sizeof path, "/proc/self/task/%.32s/schedstat", ent->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread has just exited */
        unsigned long long run_ns, wait_ns;
        if (fscanf(f, "%llu %llu", &run_ns, &wait_ns) == 2) {
            total_ns += (double)wait_ns;
            seen++;
        }
        fclose(f);
    }
    closedir(dir);
    return seen ? total_ns * 1e-6 : NAN;
#else
    return NAN;
#endif
}
