#ifndef COXSWAIN_CHILD_PROCESS_H
#define COXSWAIN_CHILD_PROCESS_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (NULL-terminated) in a process group of its own,
/// stdin from /dev/null, stdout and stderr on the given descriptors, every other descriptor
/// closed, signal mask empty and every signal at its default (the server ignores SIGPIPE;
/// helm and kubectl must not inherit that). Returns 0 or an errno value.
int coxswain_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], int stdout_fd, int stderr_fd);

/// A pipe whose ends close on exec (only the spawned child's dup2'd copies survive).
int coxswain_pipe(int fds[2]);

#endif
