// mgblast: the ceiling of 'ballast bench'. The tool compiles this file (embedded in it) with gcc -O2 into a temporary
// folder, unless --mgblast-source names another.
// Upper bound of what one memcached server answers on this machine: C, no client library, pipelined meta gets.
// usage: mgblast PORT CONNS DEPTH SECONDS  -> prints keys/s
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  int port = atoi(argv[1]), conns = atoi(argv[2]), depth = atoi(argv[3]); double secs = atof(argv[4]);
  int *fd = calloc(conns, sizeof(int)); long *pending = calloc(conns, sizeof(long));
  char req[1 << 16]; int rl = 0;
  for (int i = 0; i < depth; i++) rl += sprintf(req + rl, "mg k%d v\r\n", i % 1000);
  for (int c = 0; c < conns; c++) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)}; inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    fd[c] = socket(AF_INET, SOCK_STREAM, 0); int one = 1; setsockopt(fd[c], IPPROTO_TCP, TCP_NODELAY, &one, 4);
    if (connect(fd[c], (void *)&a, sizeof a)) { perror("connect"); return 1; }
  }
  // seed keys
  char val[100]; memset(val, 'x', 100); char set[256];
  for (int i = 0; i < 1000; i++) { int n = sprintf(set, "ms k%d 100 q\r\n", i); write(fd[0], set, n); write(fd[0], val, 100); write(fd[0], "\r\n", 2); }
  write(fd[0], "mn\r\n", 4); char buf[1 << 20]; int got = 0;
  while (got < 4 || memcmp(buf + got - 4, "MN\r\n", 4)) { int n = read(fd[0], buf + got, sizeof buf - got); if (n <= 0) return 1; got += n; }
  long done = 0; double t0 = now();
  for (int c = 0; c < conns; c++) { write(fd[c], req, rl); pending[c] = depth; }
  struct pollfd *p = calloc(conns, sizeof *p);
  while (now() - t0 < secs) {
    for (int c = 0; c < conns; c++) { p[c].fd = fd[c]; p[c].events = POLLIN; }
    poll(p, conns, 100);
    for (int c = 0; c < conns; c++) if (p[c].revents & POLLIN) {
      int n = read(fd[c], buf, sizeof buf); if (n <= 0) return 1;
      for (int i = 0; i + 1 < n; i++) if (buf[i] == 'V' && buf[i + 1] == 'A' && (i == 0 || buf[i - 1] == '\n')) { pending[c]--; done++; }
      if (pending[c] <= depth / 2) { write(fd[c], req, rl); pending[c] += depth; }
    }
  }
  printf("%.0f keys/s (conns=%d depth=%d)\n", done / (now() - t0), conns, depth);
  return 0;
}
