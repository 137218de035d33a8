#ifndef KUMO_SPAWN_H
#define KUMO_SPAWN_H

#include <sys/types.h>

/// Creates a pipe whose two ends are close-on-exec. Returns 0, or -1 with errno set.
int kumo_pipe_cloexec(int fds[2]);

/// Starts `path` with `argv` and exactly `envp`, in a new process group, with default signal
/// handling and an empty signal mask, in directory `dir` (NULL: the current one), with the
/// given descriptors as its standard input, output and error (-1 for stdin: /dev/null), and
/// no other descriptor of the parent.
/// Returns 0 and stores the pid, or an errno value.
int kumo_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
               const char *dir, int stdin_fd, int stdout_fd, int stderr_fd);

/// Like kumo_spawn, and the child first writes "0" to `procs_fd` (an open `cgroup.procs`, or
/// -1 for none), so that it is in that cgroup before it runs anything of the program — a
/// process it forks at once cannot start outside. posix_spawn has no step for that, so this
/// uses vfork, with only system calls in the child until execve.
int kumo_spawn_into(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                    const char *dir, int stdin_fd, int stdout_fd, int stderr_fd, int procs_fd);

/// Starts a daemon: like kumo_spawn, in a new session (no controlling terminal), with standard
/// input from /dev/null and standard output and error appended to `log_fd`.
int kumo_spawn_daemon(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                      const char *dir, int log_fd);

/// Where kumo_spawn_isolated failed.
enum {
    KUMO_STAGE_SETUP = 1,    /* descriptors, process group, directory */
    KUMO_STAGE_CLONE = 2,    /* creating the namespaces */
    KUMO_STAGE_USER = 3,     /* mapping the user in the new user namespace */
    KUMO_STAGE_PRIVATE = 4,  /* making the mounts private */
    KUMO_STAGE_PROC = 5,     /* mounting /proc */
    KUMO_STAGE_HIDE = 6,     /* hiding a path */
    KUMO_STAGE_EXEC = 7,     /* starting the program */
};

/// Like kumo_spawn_into, in new pid and mount namespaces (and a new user namespace when
/// `uid_map` is given: the lines for uid_map and gid_map that map the caller's own ids): the
/// child is the first process of its pid namespace, mounts a /proc of its own, covers each
/// path of the NULL-terminated `hidden` (a directory with an empty read-only tmpfs, a file with
/// /dev/null), and gets `status_fd` (or none, -1) as descriptor 3. It uses clone with
/// CLONE_VM | CLONE_VFORK: only system calls in the child until execve.
/// Returns 0 and stores the pid, or an errno value and the failing step in `stage`.
int kumo_spawn_isolated(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *dir,
                        int stdin_fd, int stdout_fd, int stderr_fd, int procs_fd, int status_fd,
                        const char *uid_map, const char *gid_map, char *const hidden[], int *stage);

#endif
