/* kumo-init: the first process of a worker's or a replica's own pid namespace.

   The runtime creates the namespaces (pid and mount, and user when it is not root), maps the
   user, mounts a /proc that shows only the namespace's processes and hides its own files in
   the child before this program starts (Sources/CKumoSpawn). This program then
     1. starts PROGRAM as the namespace's second process, in its own process group (when it
        runs as root, with no capabilities: it cannot undo the mounts),
     2. forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to every process of the
        namespace, and reaps every process that ends (orphans come to the namespace's first
        process, however they detached: setsid and double forks included),
     3. when PROGRAM ends, writes its wait status (4 bytes) to --status-fd and exits: the kernel
        then kills whatever else still runs in the namespace. Nothing it started outlives it.

   With --check it exits 0 at once: the runtime's probe of what the machine allows. Errors go
   to standard error as one line, and exit 127. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "kumo-init: %s%s%s: %s\n", what, detail ? " " : "", detail ? detail : "", strerror(errno));
    _exit(127);
}

static void usage(void) {
    fprintf(stderr, "usage: kumo-init [--status-fd N] [--check] -- PROGRAM [ARG]...\n");
    _exit(127);
}

/* Root keeps uid 0 but loses every capability, for good: it cannot unmount what hides the
   runtime's files, nor regain capabilities through a set-uid program. */
static void drop_capabilities(void) {
    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail("drop capability", NULL);
    }
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &header, data) != 0) fail("drop capabilities", NULL);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static void ignore(int signal_number) { (void)signal_number; }

/* The Swift driver links swiftrt.o into every executable it makes, this C program included; its
   two references are answered here, so that the static link (see Package.swift) pulls nothing
   of the Swift runtime into every worker's first process. */
void swift_addNewDSOImage(const void *image) { (void)image; }
int _swift_backtrace_isThunkFunction(const char *name) { (void)name; return 0; }

int main(int argc, char *argv[]) {
    int status_fd = -1, check = 0, i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) { i++; break; }
        if (strcmp(argv[i], "--check") == 0) { check = 1; continue; }
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "--status-fd") == 0) status_fd = atoi(argv[++i]);
        else usage();
    }
    if (check) return 0;
    if (i >= argc) usage();
    if (status_fd >= 0) fcntl(status_fd, F_SETFD, FD_CLOEXEC);

    static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    sigset_t waited, original;
    sigemptyset(&waited);
    sigaddset(&waited, SIGCHLD);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = ignore;
    sigemptyset(&action.sa_mask);
    for (size_t n = 0; n < sizeof forwarded / sizeof forwarded[0]; n++) {
        sigaddset(&waited, forwarded[n]);
        /* The first process of a namespace gets only the signals it handles. */
        sigaction(forwarded[n], &action, NULL);
    }
    sigprocmask(SIG_BLOCK, &waited, &original);

    pid_t program = fork();
    if (program < 0) fail("fork", NULL);
    if (program == 0) {
        setpgid(0, 0);
        action.sa_handler = SIG_DFL;
        for (size_t n = 0; n < sizeof forwarded / sizeof forwarded[0]; n++) sigaction(forwarded[n], &action, NULL);
        sigprocmask(SIG_SETMASK, &original, NULL);
        if (geteuid() == 0) drop_capabilities();
        execve(argv[i], &argv[i], environ);
        fail("cannot start", argv[i]);
    }

    for (;;) {
        siginfo_t info;
        int signal_number = sigwaitinfo(&waited, &info);
        if (signal_number < 0) continue;
        if (signal_number != SIGCHLD) {
            kill(-1, signal_number);  /* every process of the namespace but this one */
            continue;
        }
        int raw;
        pid_t ended;
        while ((ended = waitpid(-1, &raw, WNOHANG)) > 0) {
            if (ended == program) {
                if (status_fd >= 0) (void)!write(status_fd, &raw, sizeof raw);
                _exit(0);
            }
        }
    }
}
