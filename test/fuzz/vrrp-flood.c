/*
 * vrrp-flood: sends pre-built Ethernet frames out of one interface at a fixed rate, for the
 * wire fuzz campaign (test/fuzz/wire.ts builds the frames; docs/fuzzing.md).
 *
 *   vrrp-flood IFNAME FRAMES_FILE PPS
 *
 * FRAMES_FILE is a sequence of records: a 2-byte big-endian length, then that many bytes of a
 * complete Ethernet frame (the generator computes the IPv4 header checksum; AF_PACKET sends the
 * bytes as they are, so any source address, TTL or hop limit goes out unchanged, including the
 * unspecified source that raw IP sockets would fill in). Frames go out in file order, in
 * batches of up to 64 through sendmmsg(2), paced so that after n frames at least n / PPS
 * seconds have passed. A frame the kernel refuses (ENOBUFS) is retried up to 100 times with a
 * 100 us pause, so "sent" means handed to the driver. Prints one line:
 *   sent N failed F elapsed_us T
 * and exits 0 when every frame was sent, 1 otherwise. Python's socket loop reaches ~30,000
 * frames/s on these machines when idle and far less under load; this reaches the rate asked for.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_FRAME 2048

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: vrrp-flood IFNAME FRAMES_FILE PPS\n");
    return 2;
  }
  const char *ifname = argv[1];
  double pps = atof(argv[3]);
  if (pps <= 0) {
    fprintf(stderr, "vrrp-flood: PPS must be > 0\n");
    return 2;
  }
  FILE *f = fopen(argv[2], "rb");
  if (!f) {
    perror("vrrp-flood: open frames file");
    return 2;
  }
  struct stat st;
  if (fstat(fileno(f), &st) < 0) {
    perror("vrrp-flood: stat");
    return 2;
  }
  unsigned char *data = malloc((size_t)st.st_size + 1);
  if (!data || fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
    fprintf(stderr, "vrrp-flood: cannot read %s\n", argv[2]);
    return 2;
  }
  fclose(f);

  /* Index the records. */
  size_t cap = 1024, n = 0;
  size_t *off = malloc(cap * sizeof *off);
  uint16_t *len = malloc(cap * sizeof *len);
  for (size_t p = 0; p + 2 <= (size_t)st.st_size;) {
    uint16_t l = (uint16_t)((data[p] << 8) | data[p + 1]);
    if (l == 0 || l > MAX_FRAME || p + 2 + l > (size_t)st.st_size) {
      fprintf(stderr, "vrrp-flood: bad record at byte %zu\n", p);
      return 2;
    }
    if (n == cap) {
      cap *= 2;
      off = realloc(off, cap * sizeof *off);
      len = realloc(len, cap * sizeof *len);
    }
    off[n] = p + 2;
    len[n] = l;
    n++;
    p += 2 + l;
  }

  int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only, receive nothing */
  if (fd < 0) {
    perror("vrrp-flood: socket(AF_PACKET)");
    return 2;
  }
  unsigned ifindex = if_nametoindex(ifname);
  if (!ifindex) {
    perror("vrrp-flood: if_nametoindex");
    return 2;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)ifindex;
  sll.sll_halen = ETH_ALEN;
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  size_t next = 0, failed = 0; /* next: frames handed to sendmmsg so far (sent or failed) */
  uint64_t t0 = now_us();
  while (next < n) {
    size_t k = n - next;
    if (k > BATCH) k = BATCH;
    /* Pace: the batch may start once next / pps seconds have passed. */
    uint64_t due = t0 + (uint64_t)((double)next * 1e6 / pps);
    uint64_t t = now_us();
    if (due > t) {
      struct timespec ts = { (time_t)((due - t) / 1000000u), (long)(((due - t) % 1000000u) * 1000u) };
      nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < k; i++) {
      iov[i].iov_base = data + off[next + i];
      iov[i].iov_len = len[next + i];
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &sll;
      msgs[i].msg_hdr.msg_namelen = sizeof sll;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    size_t done = 0;
    int retries = 0;
    while (done < k) {
      int r = sendmmsg(fd, msgs + done, (unsigned)(k - done), 0);
      if (r > 0) {
        done += (size_t)r;
        retries = 0;
        continue;
      }
      if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) && retries++ < 100) {
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
        continue;
      }
      /* This frame cannot be sent: count it and go on with the next. */
      failed++;
      done++;
      retries = 0;
    }
    next += k;
  }
  uint64_t elapsed = now_us() - t0;
  size_t sent = n - failed;
  printf("sent %zu failed %zu elapsed_us %llu\n", sent, failed, (unsigned long long)elapsed);
  close(fd);
  return failed ? 1 : 0;
}
