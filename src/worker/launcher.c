/*
 * The native process launcher: a small, long-lived process that starts a worker's commands
 * on its behalf and reports what they do. Its counterpart in the orrery process is
 * launcher-client.ts; launcher.cjs speaks the same protocol in plain Node.js, for machines
 * where this file was not compiled (`npm run build` compiles it when it finds a C compiler).
 *
 * Why a process of its own, and why C: the orrery process holds the task database, plans and
 * logs, and Node's child_process does a good deal of work per spawn. posix_spawn here has
 * vfork semantics (glibc clones with CLONE_VM|CLONE_VFORK), so starting `/bin/sh -c command`
 * costs the same however large this process is; and wait4() hands back the command's CPU
 * time and peak memory, which otherwise took a wrapping subshell running `times`.
 *
 * Protocol. Both directions carry frames: a 9-byte header — kind (one ASCII byte), task id
 * (uint32, big-endian), payload length (uint32, big-endian) — then the payload.
 *
 * Requests, on stdin:
 *   B  base environment (id 0): `NAME=value\0` repeated. Every command's environment starts
 *      from it: the orrery process sends its own once, first (this process itself runs
 *      without orrery's NODE_OPTIONS, but the commands see them).
 *   R  run: `cwd\0command\0`, then `NAME=value\0` repeated: variables to set on top of the
 *      base environment for this command only.
 *   W  wait, then run: `after\0` — another task's id, in decimal — then as R. The command
 *      starts the moment task `after` has sent its last frame (at once if it already has):
 *      the orrery process queues a task here to take over the cores a short command frees
 *      without a round trip through it. A command may wait for one that is itself waiting.
 *   C  cancel (no payload): a command still waiting is dropped, and its last frame is D; a
 *      command already started is not affected (the orrery process signals it by pid).
 *
 * Events, on stdout:
 *   S  started  the pid of the command's shell, in decimal (also its process group id);
 *               sent with the command's first output, at its exit, or once it has run
 *               ANNOUNCE_MS, whichever comes first: a command of a few milliseconds then
 *               wakes the orrery process once, not twice
 *   O  stdout   bytes exactly as the command wrote them
 *   E  stderr   bytes exactly as the command wrote them
 *   X  exit     `code signal cpu_us maxrss_kb`, decimal, space-separated: the exit code (-1
 *               when a signal ended the shell), the signal number (0 when it exited), the user
 *               + system CPU time of the shell and its waited-for descendants in microseconds,
 *               and the largest resident set among them in KiB (-1 when unknown); last frame
 *   F  failed   a message (UTF-8): the command could not be started; last frame
 *   D  dropped  (no payload): a waiting command was cancelled before it started; last frame
 *
 * Every O and E frame of a task precedes its X frame: X goes out once the shell has been
 * reaped and both of its pipes have reached end of file. Every frame of a command that
 * waited comes after the last frame of the task it waited for. Stopping a command is not part of
 * the protocol: the orrery process knows the pid and signals the process group itself.
 *
 * End of stdin means the orrery process is done with us — it closed the pipe, or it died,
 * even by SIGKILL: every command still running gets SIGTERM on its process group, then
 * SIGKILL after the grace period (argv[1], in milliseconds), and the launcher exits; commands
 * still waiting never start. So a killed worker leaves no processes behind.
 *
 * One thread, one poll() loop over stdin, a signalfd for SIGCHLD and the commands' pipes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
  HEADER_BYTES = 9,
  /* the most bytes taken from one pipe per turn of the loop, so no command starves the rest */
  READ_CHUNK = 64 * 1024,
  /* events are gathered here and written together before the loop waits again */
  OUT_LIMIT = 256 * 1024,
  /* a request larger than this is not one the orrery process sends: the streams are out of step */
  REQUEST_LIMIT = 64 * 1024 * 1024,
  /* a command still running (and silent) after this long has its S frame sent on its own */
  ANNOUNCE_MS = 10,
};

/** A command started and not yet reported. */
struct task {
  uint32_t id;
  pid_t pid;       /* its shell, leader of the command's process group */
  int out, err;    /* read ends of its stdout and stderr pipes; -1 once at end of file */
  long long started_ms;
  int announced;   /* its S frame has been sent */
  int exited;      /* its shell has ended: status and usage below are final */
  int status;
  struct rusage usage;
};

static struct task *tasks;
static size_t task_count, task_capacity;

/** A command that waits for another task's last frame (request W), with its request's strings. */
struct waiter {
  uint32_t id, after;
  char *request; /* `cwd\0command\0NAME=value\0...`, owned */
  size_t length;
};

static struct waiter *waiters;
static size_t waiter_count, waiter_capacity;

static char out[OUT_LIMIT];
static size_t out_length;
static int orrery_gone; /* writing to stdout failed: nobody reads the events any more */

static char *in;
static size_t in_length, in_capacity;

/** The base environment (request B): one block of `NAME=value\0` strings, and pointers into it. */
static char *base_block;
static char **base;
static size_t base_count;
/** The environment of the command being started: base entries, some replaced or added. */
static char **envp;
static size_t envp_capacity;

static posix_spawnattr_t spawn_attributes;
static int devnull = -1;
static int sigchld_fd = -1;

static long grace_ms = 5000;
static int ending;         /* end of stdin (or of stdout): stopping everything */
static int exit_status;    /* 2 after a protocol error, which stderr explains */
static long long deadline; /* when ending, the time (ms) the groups get SIGKILL */
/** Process groups sent SIGTERM at shutdown; each gets SIGKILL before the launcher exits. */
static pid_t *stopping;
static size_t stopping_count;

static void die(const char *what) {
  fprintf(stderr, "orrery launcher: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void *grow(void *block, size_t *capacity, size_t needed, size_t item) {
  if (needed <= *capacity) return block;
  size_t next = *capacity ? *capacity : 16;
  while (next < needed) next *= 2;
  block = realloc(block, next * item);
  if (!block) die("out of memory");
  *capacity = next;
  return block;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t read_u32(const char *p) {
  const unsigned char *b = (const unsigned char *)p;
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void write_header(char *at, char kind, uint32_t id, uint32_t length) {
  unsigned char *b = (unsigned char *)at;
  b[0] = (unsigned char)kind;
  for (int i = 0; i < 4; i++) b[1 + i] = (unsigned char)(id >> (24 - 8 * i));
  for (int i = 0; i < 4; i++) b[5 + i] = (unsigned char)(length >> (24 - 8 * i));
}

static void begin_shutdown(void);
static void protocol_error(const char *what);

/*
 * Writes the gathered events to the orrery process. The write blocks while the pipe is full:
 * meanwhile no command's output is read, so commands that write faster than orrery reads
 * block on their own writes, and this process's memory stays at OUT_LIMIT. That cannot
 * deadlock: the orrery process never stops reading our stdout, and its writes to our stdin
 * are queued in its own memory (Node's streams), so it never waits for us to read a request
 * before it reads an event. If it dies, the write fails (EPIPE: SIGPIPE is ignored) and the
 * launcher shuts down.
 */
static void flush_out(void) {
  size_t done = 0;
  while (done < out_length && !orrery_gone) {
    ssize_t n = write(STDOUT_FILENO, out + done, out_length - done);
    if (n > 0) done += (size_t)n;
    else if (n < 0 && errno == EINTR) continue;
    else {
      orrery_gone = 1;
      begin_shutdown();
    }
  }
  out_length = 0;
}

/** Room for `bytes` more at the end of the event buffer, writing out what it holds if need be. */
static char *reserve(size_t bytes) {
  if (out_length + bytes > OUT_LIMIT) flush_out();
  return out + out_length;
}

static void send_frame(char kind, uint32_t id, const char *payload, size_t length) {
  /* after end of stdin nobody reads our events any more */
  if (ending) return;
  char *at = reserve(HEADER_BYTES + length);
  write_header(at, kind, id, (uint32_t)length);
  memcpy(at + HEADER_BYTES, payload, length);
  out_length += HEADER_BYTES + length;
}

static void send_failure(uint32_t id, const char *format, ...) {
  char message[4096];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(message, sizeof message, format, args);
  va_end(args);
  send_frame('F', id, message, n < 0 ? 0 : (size_t)n < sizeof message ? (size_t)n : sizeof message - 1);
}

/** Says why posix_spawn failed: a working directory that cannot be entered is the usual reason. */
static void report_spawn_error(uint32_t id, const char *cwd, int error) {
  struct stat st;
  const char *why = "";
  if (stat(cwd, &st) != 0) why = strerror(errno);
  else if (!S_ISDIR(st.st_mode)) why = strerror(ENOTDIR);
  else if (access(cwd, X_OK) != 0) why = strerror(errno);
  if (*why) send_failure(id, "cannot change to the working directory %s: %s", cwd, why);
  else send_failure(id, "cannot run /bin/sh: %s", strerror(error));
}

/** The command's environment: the base one with the overrides (`NAME=value\0`...) in place. */
static char **environment_with(char *overrides, const char *end) {
  envp = grow(envp, &envp_capacity, base_count + 1, sizeof *envp);
  memcpy(envp, base, base_count * sizeof *envp);
  size_t count = base_count;
  for (char *entry = overrides; entry < end; entry += strlen(entry) + 1) {
    char *equals = strchr(entry, '=');
    if (!equals) continue;
    size_t name = (size_t)(equals - entry) + 1; /* the name and its '=' */
    size_t i = 0;
    while (i < count && strncmp(envp[i], entry, name) != 0) i++;
    if (i == count) envp = grow(envp, &envp_capacity, ++count + 1, sizeof *envp);
    envp[i] = entry;
  }
  envp[count] = NULL;
  return envp;
}

/** Starts a command; false when it could not be (its F frame is then sent). */
static int spawn_command(uint32_t id, const char *cwd, char *command, char **environment) {
  int stdout_pipe[2], stderr_pipe[2];
  if (pipe2(stdout_pipe, O_CLOEXEC) != 0) {
    send_failure(id, "cannot make a pipe for the command's output: %s", strerror(errno));
    return 0;
  }
  if (pipe2(stderr_pipe, O_CLOEXEC) != 0) {
    send_failure(id, "cannot make a pipe for the command's output: %s", strerror(errno));
    close(stdout_pipe[0]);
    close(stdout_pipe[1]);
    return 0;
  }
  /* dup2 onto 0, 1 and 2 clears close-on-exec for those three only: the shell inherits
     nothing else of ours */
  posix_spawn_file_actions_t actions;
  int error = posix_spawn_file_actions_init(&actions);
  int initialised = !error;
  if (!error) error = posix_spawn_file_actions_addchdir_np(&actions, cwd);
  if (!error) error = posix_spawn_file_actions_adddup2(&actions, devnull, STDIN_FILENO);
  if (!error) error = posix_spawn_file_actions_adddup2(&actions, stdout_pipe[1], STDOUT_FILENO);
  if (!error) error = posix_spawn_file_actions_adddup2(&actions, stderr_pipe[1], STDERR_FILENO);
  pid_t pid = -1;
  char *argv[] = {"/bin/sh", "-c", command, NULL};
  if (!error) {
    error = posix_spawn(&pid, "/bin/sh", &actions, &spawn_attributes, argv, environment);
    if (error) report_spawn_error(id, cwd, error);
  } else {
    send_failure(id, "cannot prepare to start the command: %s", strerror(error));
  }
  if (initialised) posix_spawn_file_actions_destroy(&actions);
  close(stdout_pipe[1]);
  close(stderr_pipe[1]);
  if (error) {
    close(stdout_pipe[0]);
    close(stderr_pipe[0]);
    return 0;
  }
  tasks = grow(tasks, &task_capacity, task_count + 1, sizeof *tasks);
  tasks[task_count++] = (struct task){.id = id, .pid = pid, .out = stdout_pipe[0], .err = stderr_pipe[0], .started_ms = now_ms()};
  return 1;
}

static void ended(uint32_t id);

/**
 * Starts the command of an R request's strings (`cwd\0command\0NAME=value\0...`, the last
 * one ended by its NUL); a command that cannot start has ended, for those waiting on it.
 */
static void launch(uint32_t id, char *request, size_t length) {
  char *end = request + length;
  char *cwd = request;
  char *command = length ? cwd + strlen(cwd) + 1 : end;
  if (command >= end) {
    protocol_error("a run request has no command");
    return;
  }
  char *overrides = command + strlen(command) + 1;
  if (!spawn_command(id, cwd, command, environment_with(overrides, end))) ended(id);
}

/** The task is known here: running, or waiting to run. */
static int known(uint32_t id) {
  for (size_t i = 0; i < task_count; i++)
    if (tasks[i].id == id) return 1;
  for (size_t i = 0; i < waiter_count; i++)
    if (waiters[i].id == id) return 1;
  return 0;
}

/** Task `id` has sent its last frame: the commands waiting for it start now, in request order. */
static void ended(uint32_t id) {
  /* while ending, commands still waiting never start */
  if (ending) return;
  for (size_t i = 0; i < waiter_count;) {
    if (waiters[i].after != id) {
      i++;
      continue;
    }
    struct waiter next = waiters[i];
    memmove(&waiters[i], &waiters[i + 1], (waiter_count - i - 1) * sizeof *waiters);
    waiter_count--;
    launch(next.id, next.request, next.length);
    free(next.request);
    /* starting it may have ended others (a command that cannot start), and moved the rest */
    i = 0;
  }
}

/** Request C: drops the command if it is still waiting. */
static void cancel(uint32_t id) {
  for (size_t i = 0; i < waiter_count; i++) {
    if (waiters[i].id != id) continue;
    free(waiters[i].request);
    memmove(&waiters[i], &waiters[i + 1], (waiter_count - i - 1) * sizeof *waiters);
    waiter_count--;
    send_frame('D', id, "", 0);
    ended(id);
    return;
  }
}

/** Sends the task's S frame, once (see the protocol above). */
static void announce(struct task *task) {
  if (task->announced) return;
  task->announced = 1;
  char text[16];
  send_frame('S', task->id, text, (size_t)snprintf(text, sizeof text, "%d", (int)task->pid));
}

/** Announces the tasks that have run ANNOUNCE_MS; returns how long until the next one is due (-1: none). */
static long long announce_due(void) {
  long long now = now_ms(), next = -1;
  for (size_t i = 0; i < task_count; i++) {
    if (tasks[i].announced) continue;
    long long left = tasks[i].started_ms + ANNOUNCE_MS - now;
    if (left <= 0) announce(&tasks[i]);
    else if (next < 0 || left < next) next = left;
  }
  return next;
}

static void protocol_error(const char *what) {
  fprintf(stderr, "orrery launcher: %s; the launcher and the orrery process are out of step — rebuild orrery\n", what);
  exit_status = 2;
  begin_shutdown();
}

/** Handles one request frame; a payload of strings must end with the NUL of its last one. */
static void handle_request(char kind, uint32_t id, char *payload, size_t length) {
  char *end = payload + length;
  if (length > 0 && end[-1] != '\0') {
    protocol_error("a request's strings do not end with NUL");
    return;
  }
  if (kind == 'B') {
    free(base_block);
    base_block = malloc(length ? length : 1);
    if (!base_block) die("out of memory");
    memcpy(base_block, payload, length);
    base_count = 0;
    size_t capacity = 0;
    free(base);
    base = NULL;
    for (char *entry = base_block; entry < base_block + length; entry += strlen(entry) + 1) {
      base = grow(base, &capacity, base_count + 1, sizeof *base);
      base[base_count++] = entry;
    }
  } else if (kind == 'R') {
    launch(id, payload, length);
  } else if (kind == 'W') {
    char *rest = length ? payload + strlen(payload) + 1 : end;
    uint32_t after = (uint32_t)strtoul(payload, NULL, 10);
    if (!known(after)) {
      launch(id, rest, (size_t)(end - rest));
      return;
    }
    waiters = grow(waiters, &waiter_capacity, waiter_count + 1, sizeof *waiters);
    struct waiter *waiter = &waiters[waiter_count++];
    *waiter = (struct waiter){.id = id, .after = after, .length = (size_t)(end - rest), .request = malloc(end - rest ? (size_t)(end - rest) : 1)};
    if (!waiter->request) die("out of memory");
    memcpy(waiter->request, rest, waiter->length);
  } else if (kind == 'C') {
    cancel(id);
  } else {
    protocol_error("a request of unknown kind arrived");
  }
}

/** Reads what the orrery process sent and handles every complete request in it. */
static void read_requests(void) {
  in = grow(in, &in_capacity, in_length + READ_CHUNK, 1);
  ssize_t n = read(STDIN_FILENO, in + in_length, in_capacity - in_length);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    begin_shutdown();
    return;
  }
  in_length += (size_t)n;
  size_t at = 0;
  while (!ending && in_length - at >= HEADER_BYTES) {
    uint32_t length = read_u32(in + at + 5);
    if (length > REQUEST_LIMIT) {
      protocol_error("a request is larger than any the orrery process sends");
      return;
    }
    if (in_length - at - HEADER_BYTES < length) {
      in = grow(in, &in_capacity, HEADER_BYTES + length, 1);
      break;
    }
    handle_request(in[at], read_u32(in + at + 1), in + at + HEADER_BYTES, length);
    at += HEADER_BYTES + length;
  }
  memmove(in, in + at, in_length - at);
  in_length -= at;
}

/** Reads one chunk of a command's output into an O or E frame; closes the pipe at its end. */
static void read_output(struct task *task, int *fd, char kind) {
  announce(task);
  char *at = reserve(HEADER_BYTES + READ_CHUNK);
  ssize_t n = read(*fd, at + HEADER_BYTES, READ_CHUNK);
  if (n > 0) {
    /* while ending the output goes nowhere, but is still read so the command never blocks on it */
    if (!ending) {
      write_header(at, kind, task->id, (uint32_t)n);
      out_length += HEADER_BYTES + (size_t)n;
    }
    return;
  }
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  close(*fd);
  *fd = -1;
}

static struct task *task_of(pid_t pid) {
  for (size_t i = 0; i < task_count; i++)
    if (tasks[i].pid == pid) return &tasks[i];
  return NULL;
}

/*
 * Notes the shells that have ended. Every child of this process is a command's shell, so
 * one wait4(-1) per ended child reaps them all, with each one's resource usage. While
 * ending they are only looked at (WNOWAIT), not reaped: a zombie keeps its pid, so the
 * SIGKILL of its process group at exit cannot reach a stranger that reused the number.
 */
static void note_exits(void) {
  struct signalfd_siginfo info;
  while (read(sigchld_fd, &info, sizeof info) == (ssize_t)sizeof info) continue;
  if (ending) {
    for (size_t i = 0; i < task_count; i++) {
      siginfo_t child = {0};
      if (!tasks[i].exited && waitid(P_PID, (id_t)tasks[i].pid, &child, WEXITED | WNOHANG | WNOWAIT) == 0 && child.si_pid != 0)
        tasks[i].exited = 1;
    }
    return;
  }
  for (;;) {
    int status;
    struct rusage usage;
    pid_t pid = wait4(-1, &status, WNOHANG, &usage);
    if (pid <= 0) return;
    struct task *task = task_of(pid);
    if (!task) continue;
    task->exited = 1;
    task->status = status;
    task->usage = usage;
  }
}

static void report_exit(struct task *task) {
  announce(task);
  int code = WIFEXITED(task->status) ? WEXITSTATUS(task->status) : -1;
  int signal = WIFSIGNALED(task->status) ? WTERMSIG(task->status) : 0;
  long long cpu_us = (long long)(task->usage.ru_utime.tv_sec + task->usage.ru_stime.tv_sec) * 1000000 + task->usage.ru_utime.tv_usec + task->usage.ru_stime.tv_usec;
  char text[96];
  send_frame('X', task->id, text, (size_t)snprintf(text, sizeof text, "%d %d %lld %ld", code, signal, cpu_us, task->usage.ru_maxrss));
}

/** Reports (or, while ending, forgets) every task whose shell has ended and whose pipes are closed. */
static void finish_tasks(void) {
  for (size_t i = 0; i < task_count;) {
    struct task *task = &tasks[i];
    if (!task->exited || task->out >= 0 || task->err >= 0) {
      i++;
      continue;
    }
    report_exit(task);
    uint32_t id = task->id;
    tasks[i] = tasks[--task_count];
    /* may add tasks at the end: they have not exited, the loop passes them by */
    ended(id);
  }
}

static void signal_group(pid_t pgid, int signal) {
  /* a group that has already ended is fine */
  kill(-pgid, signal);
}

static void begin_shutdown(void) {
  if (ending) return;
  ending = 1;
  deadline = now_ms() + grace_ms;
  stopping = malloc((task_count ? task_count : 1) * sizeof *stopping);
  if (!stopping) die("out of memory");
  for (size_t i = 0; i < task_count; i++) {
    stopping[stopping_count++] = tasks[i].pid;
    signal_group(tasks[i].pid, SIGTERM);
  }
}

/** The last command has ended, or the grace period is over: nothing of theirs may stay. */
static void finish(void) {
  /* whatever a command left in its group (a background job that ignored SIGTERM) goes too */
  for (size_t i = 0; i < stopping_count; i++) signal_group(stopping[i], SIGKILL);
  exit(exit_status);
}

/*
 * Adds a signal to a set even when sigaddset() refuses it: the C library keeps the signals
 * from 32 up to SIGRTMIN for itself, and its posix_spawn leaves them ignored in the child
 * unless they are in the sigdefault set. A sigset_t is the kernel's bit array: signal n is
 * bit n - 1.
 */
static void add_signal(sigset_t *set, int sig) {
  if (sigaddset(set, sig) == 0) return;
  unsigned long *words = (unsigned long *)set;
  size_t bits = 8 * sizeof *words;
  words[(size_t)(sig - 1) / bits] |= 1UL << ((size_t)(sig - 1) % bits);
}

static void set_up(void) {
  /* a write to the orrery process after it died fails with EPIPE instead of killing us */
  signal(SIGPIPE, SIG_IGN);

  sigset_t sigchld;
  sigemptyset(&sigchld);
  sigaddset(&sigchld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &sigchld, NULL) != 0) die("cannot block SIGCHLD");
  sigchld_fd = signalfd(-1, &sigchld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigchld_fd < 0) die("cannot make a signalfd for SIGCHLD");

  devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) die("cannot open /dev/null");

  /* each command: a process group of its own, no blocked signals, and every signal that
     is ignored here (and so would stay ignored through exec) back to its default, with the
     C library's own; handlers need no reset, exec drops them */
  sigset_t none, to_default;
  sigemptyset(&none);
  sigemptyset(&to_default);
  for (int sig = 1; sig < NSIG; sig++) {
    struct sigaction action;
    if (sig >= 32 && sig < SIGRTMIN) add_signal(&to_default, sig);
    else if (sigaction(sig, NULL, &action) == 0 && action.sa_handler == SIG_IGN) add_signal(&to_default, sig);
  }
  int error = posix_spawnattr_init(&spawn_attributes);
  if (!error) error = posix_spawnattr_setflags(&spawn_attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (!error) error = posix_spawnattr_setpgroup(&spawn_attributes, 0);
  if (!error) error = posix_spawnattr_setsigmask(&spawn_attributes, &none);
  if (!error) error = posix_spawnattr_setsigdefault(&spawn_attributes, &to_default);
  if (error) {
    errno = error;
    die("cannot set up posix_spawn");
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && atol(argv[1]) >= 0) grace_ms = atol(argv[1]);
  set_up();
  struct pollfd *fds = NULL;
  size_t fds_capacity = 0;
  for (;;) {
    if (ending && (task_count == 0 || now_ms() >= deadline)) finish();
    long long announcing = ending ? -1 : announce_due();
    flush_out();

    /* stdin, the SIGCHLD signalfd, then each task's open pipes in task order */
    fds = grow(fds, &fds_capacity, 2 + 2 * task_count, sizeof *fds);
    size_t count = 0;
    fds[count++] = (struct pollfd){.fd = ending ? -1 : STDIN_FILENO, .events = POLLIN};
    fds[count++] = (struct pollfd){.fd = sigchld_fd, .events = POLLIN};
    for (size_t i = 0; i < task_count; i++) {
      if (tasks[i].out >= 0) fds[count++] = (struct pollfd){.fd = tasks[i].out, .events = POLLIN};
      if (tasks[i].err >= 0) fds[count++] = (struct pollfd){.fd = tasks[i].err, .events = POLLIN};
    }
    /* while ending, until the deadline; otherwise until the next S frame is due, if any */
    long long wait = ending ? deadline - now_ms() : announcing;
    if (poll(fds, count, ending ? (int)(wait > 0 ? wait : 0) : (int)wait) < 0) {
      if (errno == EINTR) continue;
      die("poll failed");
    }

    /* the tasks first, in the order their pipes were listed; requests may add tasks after */
    size_t next = 2;
    for (size_t i = 0; i < task_count; i++) {
      struct task *task = &tasks[i];
      if (task->out >= 0 && fds[next++].revents) read_output(task, &task->out, 'O');
      if (task->err >= 0 && fds[next++].revents) read_output(task, &task->err, 'E');
    }
    if (fds[1].revents) note_exits();
    finish_tasks();
    if (fds[0].revents) read_requests();
  }
}
