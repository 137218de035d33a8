#define _GNU_SOURCE
#include "kumo_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int kumo_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

/* Starts `path` with descriptors 0-2 as given (-1 for stdin: /dev/null) and nothing else of the
   parent's: no sockets, pipes or files it happens to have open. A process that kept them would
   hold its starter's pipes open, or the socket through which Foundation's Process learns that a
   child ended, and whoever waits on those would wait forever. Signals start at their defaults
   and unblocked; `group_flag` says whether the child leads a new process group or session. */
static int spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *dir,
                 int stdin_fd, int stdout_fd, int stderr_fd, short group_flag) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    sigset_t all, none;
    int status;

    posix_spawn_file_actions_init(&actions);
    if (stdin_fd >= 0) {
        posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (dir != NULL) {
        posix_spawn_file_actions_addchdir_np(&actions, dir);
    }

    posix_spawnattr_init(&attributes);
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setsigmask(&attributes, &none);
    if (group_flag == POSIX_SPAWN_SETPGROUP) {
        posix_spawnattr_setpgroup(&attributes, 0);
    }
    posix_spawnattr_setflags(&attributes, group_flag | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    status = posix_spawn(pid, path, &actions, &attributes, argv, envp);

    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return status;
}

int kumo_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
               const char *dir, int stdin_fd, int stdout_fd, int stderr_fd) {
    return spawn(pid, path, argv, envp, dir, stdin_fd, stdout_fd, stderr_fd, POSIX_SPAWN_SETPGROUP);
}

int kumo_spawn_daemon(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                      const char *dir, int log_fd) {
    return spawn(pid, path, argv, envp, dir, -1, log_fd, log_fd, POSIX_SPAWN_SETSID);
}

/* Marks every descriptor from `first` up close-on-exec (the child's own copy of the table). */
static void cloexec_from(unsigned first) {
    if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
        return;
    }
    struct rlimit limit;
    long top = 65536;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && (long)limit.rlim_cur < top) {
        top = (long)limit.rlim_cur;
    }
    for (long fd = (long)first; fd < top; fd++) {
        fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    }
}

/* In a child before execve: descriptors 0-2 from the given ones (-1 for stdin: /dev/null).
   Returns 0 or an errno value. */
static int set_up_standard_descriptors(int stdin_fd, int stdout_fd, int stderr_fd) {
    if (stdin_fd >= 0) {
        if (dup2(stdin_fd, 0) < 0) return errno;
    } else {
        int null_fd = open("/dev/null", O_RDONLY);
        int error = null_fd < 0 || dup2(null_fd, 0) < 0 ? errno : 0;
        if (null_fd > 0) close(null_fd);
        if (error != 0) return error;
    }
    if (dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) return errno;
    return 0;
}

/* In a child before execve: every signal at its default, none blocked. */
static void reset_signals(void) {
    struct sigaction defaults;
    sigset_t none;
    defaults.sa_handler = SIG_DFL;
    defaults.sa_flags = 0;
    sigemptyset(&defaults.sa_mask);
    for (int signal_number = 1; signal_number < NSIG; signal_number++) {
        if (signal_number != SIGKILL && signal_number != SIGSTOP) {
            sigaction(signal_number, &defaults, NULL);
        }
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int kumo_spawn_into(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                    const char *dir, int stdin_fd, int stdout_fd, int stderr_fd, int procs_fd) {
    int report[2];
    sigset_t all, old;
    pid_t child;
    int error = 0;

    if (pipe2(report, O_CLOEXEC) != 0) {
        return errno;
    }
    /* Blocked until the child has reset its handlers: none of the parent's may run in it. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    child = vfork();
    if (child == 0) {
        /* The child borrows the parent's memory until exec: system calls only from here. */
        int failure = 0;
        if (procs_fd >= 0) {
            /* "0" is the writing process: it joins the cgroup before it runs anything. */
            (void)!write(procs_fd, "0\n", 2);
        }
        if (setpgid(0, 0) != 0) failure = errno;
        if (failure == 0) failure = set_up_standard_descriptors(stdin_fd, stdout_fd, stderr_fd);
        if (failure == 0 && dir != NULL && chdir(dir) != 0) failure = errno;
        if (failure == 0) {
            cloexec_from(3);
            reset_signals();
            execve(path, argv, envp);
            failure = errno;
        }
        (void)!write(report[1], &failure, sizeof failure);
        _exit(127);
    }
    if (child < 0) {
        error = errno;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(report[1]);
    if (child > 0) {
        int failure = 0;
        ssize_t n;
        do {
            n = read(report[0], &failure, sizeof failure);
        } while (n < 0 && errno == EINTR);
        if (n == (ssize_t)sizeof failure) {
            /* It never ran the program: collect it and say why. */
            waitpid(child, NULL, 0);
            error = failure != 0 ? failure : ECHILD;
        } else {
            *pid = child;
        }
    }
    close(report[0]);
    return error;
}

/* What the child of kumo_spawn_isolated needs; everything is prepared before the clone, so
   that the child makes system calls only. */
struct isolated {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *dir;
    int stdin_fd, stdout_fd, stderr_fd, procs_fd, status_fd, report_fd;
    const char *uid_map, *gid_map;
    char *const *hidden;
};

static int write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    size_t length = strlen(text);
    int error = write(fd, text, length) == (ssize_t)length ? 0 : errno;
    close(fd);
    return error;
}

static void report_failure(int fd, int stage, int error) {
    int message[2] = {stage, error};
    (void)!write(fd, message, sizeof message);
    _exit(127);
}

static int isolated_child(void *argument) {
    struct isolated *a = argument;
    int report = a->report_fd;
    int error;

    if (a->procs_fd >= 0) {
        (void)!write(a->procs_fd, "0\n", 2);
    }
    if (setpgid(0, 0) != 0) report_failure(report, KUMO_STAGE_SETUP, errno);
    /* The report pipe must not be where descriptor 3 goes. */
    if (report <= 3) {
        report = fcntl(report, F_DUPFD_CLOEXEC, 10);
        if (report < 0) _exit(127);
    }
    error = set_up_standard_descriptors(a->stdin_fd, a->stdout_fd, a->stderr_fd);
    if (error != 0) report_failure(report, KUMO_STAGE_SETUP, error);
    if (a->status_fd >= 0) {
        if (a->status_fd == 3) {
            if (fcntl(3, F_SETFD, 0) != 0) report_failure(report, KUMO_STAGE_SETUP, errno);
        } else if (dup2(a->status_fd, 3) < 0) {
            report_failure(report, KUMO_STAGE_SETUP, errno);
        }
    }
    if (a->uid_map != NULL) {
        /* Unprivileged: one line that maps the caller's own ids, and no setgroups. */
        error = write_text("/proc/self/setgroups", "deny");
        if (error == 0) error = write_text("/proc/self/uid_map", a->uid_map);
        if (error == 0) error = write_text("/proc/self/gid_map", a->gid_map);
        if (error != 0) report_failure(report, KUMO_STAGE_USER, error);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) report_failure(report, KUMO_STAGE_PRIVATE, errno);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) report_failure(report, KUMO_STAGE_PROC, errno);
    for (char *const *hidden = a->hidden; hidden != NULL && *hidden != NULL; hidden++) {
        struct stat info;
        if (stat(*hidden, &info) != 0) {
            if (errno == ENOENT) continue;
            report_failure(report, KUMO_STAGE_HIDE, errno);
        }
        if (S_ISDIR(info.st_mode)) {
            if (mount("kumo-hidden", *hidden, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") != 0) {
                report_failure(report, KUMO_STAGE_HIDE, errno);
            }
        } else if (mount("/dev/null", *hidden, NULL, MS_BIND, NULL) != 0) {
            report_failure(report, KUMO_STAGE_HIDE, errno);
        }
    }
    if (a->dir != NULL && chdir(a->dir) != 0) report_failure(report, KUMO_STAGE_SETUP, errno);
    cloexec_from(a->status_fd >= 0 ? 4 : 3);
    reset_signals();
    execve(a->path, a->argv, a->envp);
    report_failure(report, KUMO_STAGE_EXEC, errno);
    return 127;
}

int kumo_spawn_isolated(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *dir,
                        int stdin_fd, int stdout_fd, int stderr_fd, int procs_fd, int status_fd,
                        const char *uid_map, const char *gid_map, char *const hidden[], int *stage) {
    int report[2];
    sigset_t all, old;
    const size_t stack_size = 256 * 1024;
    int flags = CLONE_VM | CLONE_VFORK | CLONE_NEWPID | CLONE_NEWNS | SIGCHLD;
    pid_t child;
    int error = 0;

    *stage = KUMO_STAGE_SETUP;
    if (uid_map != NULL) flags |= CLONE_NEWUSER;
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        error = errno;
        close(report[0]);
        close(report[1]);
        return error;
    }
    struct isolated arguments = {path, argv, envp, dir, stdin_fd, stdout_fd, stderr_fd, procs_fd, status_fd, report[1],
                                 uid_map, gid_map, hidden};
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    child = clone(isolated_child, (char *)stack + stack_size, flags, &arguments);
    if (child < 0) {
        error = errno;
        *stage = KUMO_STAGE_CLONE;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, stack_size);
    close(report[1]);
    if (child > 0) {
        int message[2] = {0, 0};
        ssize_t n;
        do {
            n = read(report[0], message, sizeof message);
        } while (n < 0 && errno == EINTR);
        if (n == (ssize_t)sizeof message) {
            waitpid(child, NULL, 0);
            *stage = message[0];
            error = message[1] != 0 ? message[1] : ECHILD;
        } else {
            *pid = child;
            *stage = 0;
        }
    }
    close(report[0]);
    return error;
}
