#define _GNU_SOURCE
#include "kumo_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
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
