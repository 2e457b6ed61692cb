/*
 * udp-blast — fixed-duration small-UDP sender / counting receiver for bench/datapath.ts.
 *   udp-blast send <dst-ip> <port> <seconds> <payload-bytes>   → prints datagrams sent
 *   udp-blast recv <port> <seconds> [4|6 [sample-ms]]           → prints "ready", then datagrams received
 * <dst-ip> is IPv4 or IPv6 (a ':' makes it IPv6). The receiver binds the wildcard address of the
 * family given (default 4; 6 = an IPv6-only socket). The sender uses sendmmsg in batches of 64 on
 * one connected socket (one flow); the receiver drains with recvmmsg until <seconds> elapsed.
 * With sample-ms > 0 the receiver also prints "s <CLOCK_MONOTONIC ns> <datagrams so far>" at most
 * every sample-ms, so a caller can cut one long blast into windows (bench/datapath.ts).
 * Only the address given is contacted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int do_send(const char *ip, int port, double seconds, int size)
{
	int v6 = strchr(ip, ':') != NULL;
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	struct sockaddr_in6 dst6 = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)port)};
	int ok = v6 ? inet_pton(AF_INET6, ip, &dst6.sin6_addr) == 1 : inet_pton(AF_INET, ip, &dst.sin_addr) == 1;
	if (fd < 0 || !ok ||
	    (v6 ? connect(fd, (struct sockaddr *)&dst6, sizeof(dst6)) : connect(fd, (struct sockaddr *)&dst, sizeof(dst))) < 0) {
		perror("send setup");
		return 1;
	}
	char payload[1500];
	memset(payload, 'x', sizeof(payload));
	struct iovec iov = {.iov_base = payload, .iov_len = (size_t)size};
	struct mmsghdr msgs[BATCH];
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	unsigned long long sent = 0;
	double end = now_s() + seconds;
	while (now_s() < end) {
		int n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += (unsigned long long)n;
		else if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
			break;
	}
	printf("%llu\n", sent);
	return 0;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static int do_recv(int port, double seconds, int family, int sample_ms)
{
	int v6 = family == 6;
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	int buf = 8 << 20, one = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)port), .sin6_addr = IN6ADDR_ANY_INIT};
	if (fd < 0 || (v6 ? bind(fd, (struct sockaddr *)&a6, sizeof(a6)) : bind(fd, (struct sockaddr *)&a, sizeof(a))) < 0) {
		perror("recv setup");
		return 1;
	}
	static char bufs[BATCH][2048];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	printf("ready\n");
	fflush(stdout);
	unsigned long long got = 0, next_sample = 0, step = (unsigned long long)sample_ms * 1000000ull;
	double end = now_s() + seconds;
	while (now_s() < end) {
		int n = recvmmsg(fd, msgs, BATCH, 0, NULL);
		if (n > 0)
			got += (unsigned long long)n;
		if (step) {
			unsigned long long t = now_ns();
			if (t >= next_sample) {
				printf("s %llu %llu\n", t, got);
				fflush(stdout);
				next_sample = t + step;
			}
		}
	}
	printf("%llu\n", got);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], atoi(argv[3]), atof(argv[4]), atoi(argv[5]));
	if (argc >= 4 && argc <= 6 && strcmp(argv[1], "recv") == 0)
		return do_recv(atoi(argv[2]), atof(argv[3]), argc >= 5 ? atoi(argv[4]) : 4, argc == 6 ? atoi(argv[5]) : 0);
	fprintf(stderr, "usage: udp-blast send <ip> <port> <seconds> <payload> | recv <port> <seconds> [4|6 [sample-ms]]\n");
	return 2;
}
