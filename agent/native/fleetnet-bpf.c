// SPDX-License-Identifier: Apache-2.0
/*
 * fleetnet-bpf — the smallest N-API surface over libbpf (Debian libbpf-dev 1.1) the agent needs.
 *
 * Contracts:
 *   - Every function is synchronous and throws a JS Error "<op>: <strerror> (errno N)" with
 *     err.code = "E..." on failure. Returned fds belong to the caller (closeFd them).
 *   - Keys and values cross as Buffers in the kernel layout (agent/bpf/fleetnet.h); the addon never
 *     interprets them, except readAndResetPercpu which reduces per-CPU u64 fields as told.
 *   - Per-CPU values are passed as possibleCpus() slots of round_up(valueSize, 8) bytes.
 *   - netnsPath (optional) = a network namespace file (/run/netns/X, /proc/PID/ns/net): ifindex
 *     based operations (TCX/TC attach) run with the calling thread switched into it, then back;
 *     openSocket creates its socket there (a socket keeps the namespace it was created in).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <node_api.h>

#define FN_TCX_INGRESS 46 /* BPF_TCX_INGRESS (linux 6.6+, not in Debian 12 headers) */
#define FN_TCX_EGRESS 47  /* BPF_TCX_EGRESS */
#define FN_TC_HANDLE 0xf1e7
#define FN_TC_PRIORITY 0xf1e7
#define FN_BATCH 16384
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal "operation not supported", leaks to user space */
#endif

/* ---- libbpf log capture: the tail of libbpf's messages goes into load errors ------------------ */
static char g_log[8192];
static size_t g_log_len;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	char line[1024];
	int n = vsnprintf(line, sizeof(line), fmt, args);
	if (n <= 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (g_log_len + (size_t)n >= sizeof(g_log)) {
		size_t keep = sizeof(g_log) / 2;
		memmove(g_log, g_log + g_log_len - keep, keep);
		g_log_len = keep;
	}
	memcpy(g_log + g_log_len, line, (size_t)n);
	g_log_len += (size_t)n;
	g_log[g_log_len] = 0;
	return 0;
}

/* ---- error helpers ------------------------------------------------------------------------- */
static const char *errno_name(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case E2BIG: return "E2BIG";
	case ENOSPC: return "ENOSPC";
	case ENOMEM: return "ENOMEM";
	case EBADF: return "EBADF";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EACCES: return "EACCES";
	case EADDRINUSE: return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	default: return "EIO";
	}
}

static napi_value throw_errno(napi_env env, const char *op, int e, const char *detail)
{
	char msg[sizeof(g_log) + 512];
	if (e < 0)
		e = -e;
	snprintf(msg, sizeof(msg), "%s: %s (errno %d)%s%s", op, strerror(e), e, detail ? "\n" : "",
		 detail ? detail : "");
	napi_throw_error(env, errno_name(e), msg);
	return NULL;
}

static napi_value throw_type(napi_env env, const char *msg)
{
	napi_throw_type_error(env, NULL, msg);
	return NULL;
}

#define ARGS(n)                                                                        \
	size_t argc = (n);                                                              \
	napi_value argv[(n) > 0 ? (n) : 1];                                             \
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)            \
		return throw_type(env, "bad call");

static int get_i32(napi_env env, napi_value v, int32_t *out)
{
	return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out)
{
	return napi_get_value_uint32(env, v, out) == napi_ok ? 0 : -1;
}

/* Copies a JS string into a malloc'd buffer (NULL for undefined/null or on error). */
static char *get_str(napi_env env, napi_value v)
{
	napi_valuetype t;
	size_t len = 0;
	if (napi_typeof(env, v, &t) != napi_ok || t != napi_string)
		return NULL;
	napi_get_value_string_utf8(env, v, NULL, 0, &len);
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	napi_get_value_string_utf8(env, v, s, len + 1, &len);
	return s;
}

static int get_buf(napi_env env, napi_value v, void **data, size_t *len)
{
	bool is;
	if (napi_is_buffer(env, v, &is) != napi_ok || !is)
		return -1;
	return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
}

static napi_value mk_i32(napi_env env, int32_t x)
{
	napi_value v;
	napi_create_int32(env, x, &v);
	return v;
}

static napi_value mk_u32(napi_env env, uint32_t x)
{
	napi_value v;
	napi_create_uint32(env, x, &v);
	return v;
}

static napi_value mk_bool(napi_env env, bool x)
{
	napi_value v;
	napi_get_boolean(env, x, &v);
	return v;
}

static napi_value mk_str(napi_env env, const char *s)
{
	napi_value v;
	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
	return v;
}

static napi_value mk_buf_copy(napi_env env, const void *data, size_t len)
{
	napi_value v;
	void *out;
	napi_create_buffer_copy(env, len, len ? data : "", &out, &v);
	return v;
}

/* ---- network namespace switching (calling thread only) ------------------------------------- */
static int netns_enter(const char *path, int *saved)
{
	*saved = -1;
	if (!path)
		return 0;
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	int target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		int e = errno;
		close(self);
		return -e;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		int e = errno;
		close(target);
		close(self);
		return -e;
	}
	close(target);
	*saved = self;
	return 0;
}

static void netns_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET) < 0)
		abort(); /* the JS thread would keep running in the wrong namespace */
	close(saved);
}

static void forget_fd(int fd); /* map I/O below: the map-size cache */

/* ---- loadObject(objectPath, pinDir, maxEntries?: {name: n}) → {maps, programs} ------------------
 * Opens the object with pin_root_path = pinDir: maps already pinned there are REUSED as they are
 * (their contents survive, never flushed; their max_entries is adopted); missing ones are created
 * and pinned. maxEntries applies only to maps not yet pinned. Programs are loaded fresh and pinned at pinDir/<program name>
 * (replacing an older pin). Returns dup'd fds by name; the bpf_object is closed before return. */
static napi_value load_object(napi_env env, napi_callback_info info)
{
	ARGS(3);
	char *obj_path = get_str(env, argv[0]);
	char *pin_dir = get_str(env, argv[1]);
	napi_value result = NULL;
	struct bpf_object *obj = NULL;
	char path[4096];
	int err;

	if (!obj_path || !pin_dir) {
		throw_type(env, "loadObject(objectPath: string, pinDir: string, maxEntries?)");
		goto out;
	}
	if (mkdir(pin_dir, 0700) < 0 && errno != EEXIST) {
		throw_errno(env, "loadObject mkdir pinDir", errno, pin_dir);
		goto out;
	}
	g_log_len = 0;
	g_log[0] = 0;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_dir);
	obj = bpf_object__open_file(obj_path, &oo);
	if (!obj) {
		throw_errno(env, "loadObject open", errno, g_log);
		goto out;
	}

	napi_valuetype t = napi_undefined;
	if (argc > 2)
		napi_typeof(env, argv[2], &t);
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
		int pinned = bpf_obj_get(path);
		if (pinned >= 0) {
			/* reuse needs identical parameters: adopt the pinned map's size */
			struct bpf_map_info mi = {};
			__u32 len = sizeof(mi);
			if (bpf_obj_get_info_by_fd(pinned, &mi, &len) == 0)
				bpf_map__set_max_entries(map, mi.max_entries);
			close(pinned);
			continue;
		}
		if (t != napi_object)
			continue;
		napi_value v;
		bool has;
		uint32_t n;
		if (napi_has_named_property(env, argv[2], bpf_map__name(map), &has) == napi_ok && has &&
		    napi_get_named_property(env, argv[2], bpf_map__name(map), &v) == napi_ok &&
		    get_u32(env, v, &n) == 0)
			bpf_map__set_max_entries(map, n);
	}

	err = bpf_object__load(obj);
	if (err) {
		throw_errno(env, "loadObject load", err, g_log);
		goto out;
	}

	napi_value maps, progs;
	napi_create_object(env, &result);
	napi_create_object(env, &maps);
	napi_create_object(env, &progs);
	bpf_object__for_each_map(map, obj) {
		if (!bpf_map__pin_path(map)) /* .bss/.rodata etc.: not part of the contract */
			continue;
		int fd = dup(bpf_map__fd(map));
		forget_fd(fd);
		if (fd < 0) {
			throw_errno(env, "loadObject dup map", errno, NULL);
			result = NULL;
			goto out;
		}
		napi_set_named_property(env, maps, bpf_map__name(map), mk_i32(env, fd));
	}
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_program__name(prog));
		unlink(path);
		err = bpf_program__pin(prog, path);
		if (err) {
			throw_errno(env, "loadObject pin program", err, path);
			result = NULL;
			goto out;
		}
		int fd = dup(bpf_program__fd(prog));
		if (fd < 0) {
			throw_errno(env, "loadObject dup program", errno, NULL);
			result = NULL;
			goto out;
		}
		napi_set_named_property(env, progs, bpf_program__name(prog), mk_i32(env, fd));
	}
	napi_set_named_property(env, result, "maps", maps);
	napi_set_named_property(env, result, "programs", progs);
out:
	bpf_object__close(obj);
	free(obj_path);
	free(pin_dir);
	return result;
}

/* ---- getObject(path) → fd: a pinned map/program/link ------------------------------------------ */
static napi_value get_object(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char *path = get_str(env, argv[0]);
	if (!path)
		return throw_type(env, "getObject(path: string)");
	int fd = bpf_obj_get(path);
	int e = errno;
	forget_fd(fd);
	napi_value r = fd < 0 ? throw_errno(env, "getObject", e, path) : mk_i32(env, fd);
	free(path);
	return r;
}

/* ---- pinObject(fd, path) -------------------------------------------------------------------- */
static napi_value pin_object(napi_env env, napi_callback_info info)
{
	ARGS(2);
	int32_t fd;
	char *path = get_str(env, argv[1]);
	if (get_i32(env, argv[0], &fd) || !path) {
		free(path);
		return throw_type(env, "pinObject(fd: number, path: string)");
	}
	int err = bpf_obj_pin(fd, path);
	napi_value r = err ? throw_errno(env, "pinObject", errno, path) : mk_bool(env, true);
	free(path);
	return r;
}

/* ---- openSocket(family 4|6, 'udp'|'tcp', address, port, netnsPath?, transparent?) → fd ---------
 * A non-blocking, close-on-exec socket created in netnsPath (else the caller's namespace), bound to
 * address:port (port 0: any free one); SO_REUSEADDR for TCP on a fixed port, IPV6_V6ONLY for IPv6; with transparent
 * true, IP_TRANSPARENT / IPV6_TRANSPARENT (a listener that accepts connections addressed elsewhere,
 * handed to it by bpf_sk_assign, and answers from their address; needs CAP_NET_ADMIN). Not listening:
 * Node adopts the fd (dgram bind({fd}), net.Server listen({fd}), new net.Socket({fd})). */
static napi_value open_socket(napi_env env, napi_callback_info info)
{
	ARGS(6);
	int32_t family, port;
	char *type = get_str(env, argv[1]);
	char *address = get_str(env, argv[2]);
	if (get_i32(env, argv[0], &family) || (family != 4 && family != 6) || !type || !address ||
	    (strcmp(type, "udp") != 0 && strcmp(type, "tcp") != 0) || get_i32(env, argv[3], &port) || port < 0 ||
	    port > 65535) {
		free(type);
		free(address);
		return throw_type(env, "openSocket(4|6, 'udp'|'tcp', address, port, netnsPath?)");
	}
	int stream = strcmp(type, "tcp") == 0;
	free(type);
	struct sockaddr_storage sa = {};
	socklen_t salen;
	int ok;
	if (family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		ok = inet_pton(AF_INET, address, &s4->sin_addr) == 1;
		salen = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		ok = inet_pton(AF_INET6, address, &s6->sin6_addr) == 1;
		salen = sizeof(*s6);
	}
	free(address);
	if (!ok)
		return throw_type(env, "openSocket: address is not of the family");
	char *ns = argc > 4 ? get_str(env, argv[4]) : NULL;
	int saved;
	int err = netns_enter(ns, &saved);
	free(ns);
	if (err)
		return throw_errno(env, "openSocket setns", err, NULL);
	int fd = socket(family == 4 ? AF_INET : AF_INET6, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	err = fd < 0 ? -errno : 0;
	netns_leave(saved);
	if (err)
		return throw_errno(env, "openSocket socket", err, NULL);
	int one = 1;
	bool transparent = false;
	if (argc > 5)
		napi_get_value_bool(env, argv[5], &transparent);
	/* SO_REUSEADDR only for a fixed TCP port (a listener that restarts): an ephemeral port (0) stays
	 * exclusively the socket's, which the proxies' upstream registry relies on (fn_proxy_upstreams: no
	 * other socket may bind the same port and speak for the client) */
	if ((stream && port != 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    (transparent && family == 4 && setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0) ||
	    (transparent && family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&sa, salen) < 0) {
		err = -errno;
		close(fd);
		return throw_errno(env, "openSocket bind", err, NULL);
	}
	return mk_i32(env, fd);
}

/* ---- localPort(fd) → the port a socket is bound to (getsockname), host order ------------------- */
static napi_value local_port(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int32_t fd;
	if (get_i32(env, argv[0], &fd))
		return throw_type(env, "localPort(fd)");
	struct sockaddr_storage sa = {};
	socklen_t len = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return throw_errno(env, "localPort getsockname", -errno, NULL);
	uint16_t port = sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port : ((struct sockaddr_in6 *)&sa)->sin6_port;
	return mk_i32(env, ntohs(port));
}

/* ---- closeFd(fd) ---------------------------------------------------------------------------- */
static napi_value close_fd(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int32_t fd;
	if (get_i32(env, argv[0], &fd))
		return throw_type(env, "closeFd(fd: number)");
	forget_fd(fd);
	if (close(fd) < 0)
		return throw_errno(env, "closeFd", errno, NULL);
	return mk_bool(env, true);
}

/* ---- mapInfo(fd) → {id, type, keySize, valueSize, maxEntries, flags, name} -------------------- */
static napi_value map_info(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int32_t fd;
	if (get_i32(env, argv[0], &fd))
		return throw_type(env, "mapInfo(fd: number)");
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	if (bpf_obj_get_info_by_fd(fd, &mi, &len))
		return throw_errno(env, "mapInfo", errno, NULL);
	napi_value o;
	napi_create_object(env, &o);
	napi_set_named_property(env, o, "id", mk_u32(env, mi.id));
	napi_set_named_property(env, o, "type", mk_u32(env, mi.type));
	napi_set_named_property(env, o, "keySize", mk_u32(env, mi.key_size));
	napi_set_named_property(env, o, "valueSize", mk_u32(env, mi.value_size));
	napi_set_named_property(env, o, "maxEntries", mk_u32(env, mi.max_entries));
	napi_set_named_property(env, o, "flags", mk_u32(env, mi.map_flags));
	napi_set_named_property(env, o, "name", mk_str(env, mi.name));
	return o;
}

/* ---- possibleCpus() → number ---------------------------------------------------------------- */
/* synchronizeRcu() → true. Waits for an RCU grace period (membarrier MEMBARRIER_CMD_GLOBAL, which
 * the kernel implements with synchronize_rcu()): every BPF program run that started before the call
 * has finished when it returns (TC programs run inside RCU read-side sections). */
static napi_value synchronize_rcu(napi_env env, napi_callback_info info)
{
	(void)info;
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
		return throw_errno(env, "synchronizeRcu (membarrier)", -errno, NULL);
	napi_value t;
	napi_get_boolean(env, true, &t);
	return t;
}

static napi_value possible_cpus(napi_env env, napi_callback_info info)
{
	(void)info;
	int n = libbpf_num_possible_cpus();
	if (n < 0)
		return throw_errno(env, "possibleCpus", n, NULL);
	return mk_i32(env, n);
}

/* ---- TCX ------------------------------------------------------------------------------------ */
static int hook_attach_type(napi_env env, napi_value v, int *type)
{
	char *s = get_str(env, v);
	int ok = 0;
	if (s && strcmp(s, "ingress") == 0)
		*type = FN_TCX_INGRESS;
	else if (s && strcmp(s, "egress") == 0)
		*type = FN_TCX_EGRESS;
	else
		ok = -1;
	free(s);
	return ok;
}

/* Returns the ifindex a TCX link is bound to, 0 when its device is gone, <0 on error. The tcx
 * part of struct bpf_link_info ({ifindex, attach_type} at offset 16) is newer than Debian's
 * headers; it overlays netns.{netns_ino, attach_type}. */
static int tcx_link_ifindex(int link_fd, __u32 *attach_type)
{
	struct bpf_link_info li;
	__u32 len = sizeof(li);
	memset(&li, 0, sizeof(li));
	if (bpf_obj_get_info_by_fd(link_fd, &li, &len))
		return -errno;
	*attach_type = li.netns.attach_type;
	return (int)li.netns.netns_ino;
}

/* attachTcx(progFd, ifindex, hook: "ingress"|"egress", linkPinPath, netnsPath?) →
 *   "created" | "updated"
 * A link already pinned at linkPinPath for the same ifindex+hook is atomically switched to progFd
 * (BPF_LINK_UPDATE: no moment without a program); a stale pin (device gone or another device) is
 * replaced. The new link is pinned, so it survives this process. */
static napi_value attach_tcx(napi_env env, napi_callback_info info)
{
	ARGS(5);
	int32_t prog_fd, ifindex;
	int type;
	char *pin = get_str(env, argv[3]);
	char *ns = argc > 4 ? get_str(env, argv[4]) : NULL;
	napi_value r = NULL;
	if (get_i32(env, argv[0], &prog_fd) || get_i32(env, argv[1], &ifindex) ||
	    hook_attach_type(env, argv[2], &type) || !pin) {
		throw_type(env, "attachTcx(progFd, ifindex, 'ingress'|'egress', linkPinPath, netnsPath?)");
		goto out;
	}
	int old = bpf_obj_get(pin);
	if (old >= 0) {
		__u32 at = 0;
		int bound = tcx_link_ifindex(old, &at);
		if (bound == ifindex && (int)at == type) {
			int err = bpf_link_update(old, prog_fd, NULL);
			int e = errno;
			close(old);
			if (err)
				throw_errno(env, "attachTcx update", e, pin);
			else
				r = mk_str(env, "updated");
			goto out;
		}
		close(old);
		unlink(pin); /* stale: the old link is released with its last reference */
	}
	int saved;
	int err = netns_enter(ns, &saved);
	if (err) {
		throw_errno(env, "attachTcx setns", err, ns);
		goto out;
	}
	int link = bpf_link_create(prog_fd, ifindex, type, NULL);
	int e = errno;
	netns_leave(saved);
	if (link < 0) {
		throw_errno(env, "attachTcx link_create", e, NULL);
		goto out;
	}
	if (bpf_obj_pin(link, pin)) {
		e = errno;
		bpf_link_detach(link);
		close(link);
		throw_errno(env, "attachTcx pin", e, pin);
		goto out;
	}
	close(link);
	r = mk_str(env, "created");
out:
	free(pin);
	free(ns);
	return r;
}

/* detachTcx(linkPinPath) → boolean (false if nothing was pinned there). Detaches the link from its
 * device (even if another process holds it) and removes the pin. */
static napi_value detach_tcx(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char *pin = get_str(env, argv[0]);
	if (!pin)
		return throw_type(env, "detachTcx(linkPinPath: string)");
	napi_value r;
	int fd = bpf_obj_get(pin);
	if (fd < 0) {
		r = errno == ENOENT ? mk_bool(env, false) : throw_errno(env, "detachTcx", errno, pin);
		free(pin);
		return r;
	}
	int err = bpf_link_detach(fd);
	int e = errno;
	close(fd);
	unlink(pin);
	/* ENOLINK/EINVAL: already defunct (device gone) — nothing left to detach. */
	r = (err && e != ENOLINK && e != EINVAL) ? throw_errno(env, "detachTcx", e, pin) : mk_bool(env, true);
	free(pin);
	return r;
}

/* ---- clsact fallback (not pinnable: the filter itself persists in the kernel) ---------------- */
static int tc_hook_of(napi_env env, napi_value v, enum bpf_tc_attach_point *p)
{
	int type;
	if (hook_attach_type(env, v, &type))
		return -1;
	*p = type == FN_TCX_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS;
	return 0;
}

/* attachTc(progFd, ifindex, hook, netnsPath?) — clsact + direct-action filter with fleetnet's fixed
 * handle/priority, replacing a previous fleetnet filter. */
static napi_value attach_tc(napi_env env, napi_callback_info info)
{
	ARGS(4);
	int32_t prog_fd, ifindex;
	enum bpf_tc_attach_point ap;
	if (get_i32(env, argv[0], &prog_fd) || get_i32(env, argv[1], &ifindex) ||
	    tc_hook_of(env, argv[2], &ap))
		return throw_type(env, "attachTc(progFd, ifindex, 'ingress'|'egress', netnsPath?)");
	char *ns = argc > 3 ? get_str(env, argv[3]) : NULL;
	int saved;
	int err = netns_enter(ns, &saved);
	if (err) {
		free(ns);
		return throw_errno(env, "attachTc setns", err, NULL);
	}
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ap);
	err = bpf_tc_hook_create(&hook);
	if (err == -EEXIST)
		err = 0;
	if (!err) {
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = FN_TC_HANDLE,
			    .priority = FN_TC_PRIORITY, .flags = BPF_TC_F_REPLACE);
		err = bpf_tc_attach(&hook, &opts);
	}
	netns_leave(saved);
	free(ns);
	if (err)
		return throw_errno(env, "attachTc", err, NULL);
	return mk_bool(env, true);
}

/* detachTc(ifindex, hook, netnsPath?) → boolean (false if no fleetnet filter was there). */
static napi_value detach_tc(napi_env env, napi_callback_info info)
{
	ARGS(3);
	int32_t ifindex;
	enum bpf_tc_attach_point ap;
	if (get_i32(env, argv[0], &ifindex) || tc_hook_of(env, argv[1], &ap))
		return throw_type(env, "detachTc(ifindex, 'ingress'|'egress', netnsPath?)");
	char *ns = argc > 2 ? get_str(env, argv[2]) : NULL;
	int saved;
	int err = netns_enter(ns, &saved);
	if (err) {
		free(ns);
		return throw_errno(env, "detachTc setns", err, NULL);
	}
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FN_TC_HANDLE, .priority = FN_TC_PRIORITY);
	err = bpf_tc_detach(&hook, &opts);
	netns_leave(saved);
	free(ns);
	if (err == -ENOENT || err == -ENODEV)
		return mk_bool(env, false);
	if (err)
		return throw_errno(env, "detachTc", err, NULL);
	return mk_bool(env, true);
}

/* ---- map I/O -------------------------------------------------------------------------------- */
/* The sizes and type of the map behind each fd, asked once (a lookup per DNS query would otherwise
 * cost a second syscall). Valid because every map fd this addon uses it created itself (loadObject,
 * getObject: forget_fd on creation) and closes itself (closeFd: forget_fd). */
#define SIZE_CACHE_FDS 4096
static struct {
	bool known;
	__u32 ks, vs, type;
} size_cache[SIZE_CACHE_FDS];

static void forget_fd(int fd)
{
	if (fd >= 0 && fd < SIZE_CACHE_FDS)
		size_cache[fd].known = false;
}

static int map_sizes(int fd, __u32 *ks, __u32 *vs, __u32 *type)
{
	if (fd >= 0 && fd < SIZE_CACHE_FDS && size_cache[fd].known) {
		*ks = size_cache[fd].ks;
		*vs = size_cache[fd].vs;
		*type = size_cache[fd].type;
		return 0;
	}
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	if (bpf_obj_get_info_by_fd(fd, &mi, &len))
		return -errno;
	*ks = mi.key_size;
	*vs = mi.value_size;
	*type = mi.type;
	if (fd >= 0 && fd < SIZE_CACHE_FDS) {
		size_cache[fd].ks = mi.key_size;
		size_cache[fd].vs = mi.value_size;
		size_cache[fd].type = mi.type;
		size_cache[fd].known = true;
	}
	return 0;
}

static bool is_percpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

/* Bytes of one value as user space sees it (per-CPU: one 8-byte aligned slot per possible CPU). */
static size_t user_value_size(__u32 vs, __u32 type)
{
	if (!is_percpu(type))
		return vs;
	return (size_t)((vs + 7) & ~7u) * (size_t)libbpf_num_possible_cpus();
}

/* updateBatch(fd, keys: Buffer, values: Buffer, flags = 0) → number of entries written.
 * keys/values are count consecutive entries. Uses BPF_MAP_UPDATE_BATCH (LPM tries have it on 6.x
 * kernels too), one update per entry where the kernel refuses batches. Stops at the first failure
 * and throws. */
static napi_value update_batch(napi_env env, napi_callback_info info)
{
	ARGS(4);
	int32_t fd;
	uint32_t flags = 0;
	void *keys, *values;
	size_t klen, vlen;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &keys, &klen) ||
	    get_buf(env, argv[2], &values, &vlen) || (argc > 3 && get_u32(env, argv[3], &flags)))
		return throw_type(env, "updateBatch(fd, keys: Buffer, values: Buffer, flags?)");
	__u32 ks = 0, vs = 0, type = 0;
	int err = map_sizes(fd, &ks, &vs, &type);
	if (err)
		return throw_errno(env, "updateBatch info", err, NULL);
	size_t uvs = user_value_size(vs, type);
	if (klen % ks || vlen % uvs || klen / ks != vlen / uvs)
		return throw_type(env, "updateBatch: keys/values length is not count * size");
	__u32 count = (__u32)(klen / ks), done = 0;
	if (count > 0) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = flags);
		while (done < count) {
			__u32 n = count - done;
			err = bpf_map_update_batch(fd, (char *)keys + (size_t)done * ks,
						   (char *)values + (size_t)done * uvs, &n, &bo);
			done += n;
			if (err)
				break;
		}
		if (!err)
			return mk_u32(env, done);
		if (errno != EINVAL && errno != ENOTSUPP && errno != EOPNOTSUPP)
			return throw_errno(env, "updateBatch", errno, NULL);
	}
	for (; done < count; done++) {
		if (bpf_map_update_elem(fd, (char *)keys + (size_t)done * ks,
					(char *)values + (size_t)done * uvs, flags))
			return throw_errno(env, "updateBatch elem", errno, NULL);
	}
	return mk_u32(env, done);
}

/* deleteBatch(fd, keys: Buffer) → number of entries that existed and were deleted.
 * Missing keys are not an error (delete is idempotent). */
static napi_value delete_batch(napi_env env, napi_callback_info info)
{
	ARGS(2);
	int32_t fd;
	void *keys;
	size_t klen;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &keys, &klen))
		return throw_type(env, "deleteBatch(fd, keys: Buffer)");
	__u32 ks = 0, vs = 0, type = 0;
	int err = map_sizes(fd, &ks, &vs, &type);
	if (err)
		return throw_errno(env, "deleteBatch info", err, NULL);
	if (klen % ks)
		return throw_type(env, "deleteBatch: keys length is not count * keySize");
	__u32 count = (__u32)(klen / ks), deleted = 0;
	for (__u32 i = 0; i < count; i++) {
		if (bpf_map_delete_elem(fd, (char *)keys + (size_t)i * ks) == 0)
			deleted++;
		else if (errno != ENOENT)
			return throw_errno(env, "deleteBatch", errno, NULL);
	}
	return mk_u32(env, deleted);
}

/* lookup(fd, key: Buffer) → Buffer | null */
static napi_value lookup(napi_env env, napi_callback_info info)
{
	ARGS(2);
	int32_t fd;
	void *key;
	size_t klen;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &key, &klen))
		return throw_type(env, "lookup(fd, key: Buffer)");
	__u32 ks = 0, vs = 0, type = 0;
	int err = map_sizes(fd, &ks, &vs, &type);
	if (err)
		return throw_errno(env, "lookup info", err, NULL);
	if (klen != ks)
		return throw_type(env, "lookup: key length != map key size");
	size_t uvs = user_value_size(vs, type);
	void *val = malloc(uvs);
	if (!val)
		return throw_errno(env, "lookup", ENOMEM, NULL);
	napi_value r;
	if (bpf_map_lookup_elem(fd, key, val)) {
		int e = errno;
		if (e == ENOENT)
			napi_get_null(env, &r);
		else
			r = throw_errno(env, "lookup", e, NULL);
	} else {
		r = mk_buf_copy(env, val, uvs);
	}
	free(val);
	return r;
}

struct growbuf {
	char *data;
	size_t len, cap;
};

static int gb_reserve(struct growbuf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 65536;
	while (cap < b->len + more)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

static napi_value mk_dump(napi_env env, struct growbuf *k, struct growbuf *v, __u32 count)
{
	napi_value o;
	napi_create_object(env, &o);
	napi_set_named_property(env, o, "keys", mk_buf_copy(env, k->data, k->len));
	napi_set_named_property(env, o, "values", mk_buf_copy(env, v->data, v->len));
	napi_set_named_property(env, o, "count", mk_u32(env, count));
	return o;
}

/* dump(fd) → {keys: Buffer, values: Buffer, count}: every entry. BPF_MAP_LOOKUP_BATCH where the
 * map has it (hash, array, LPM on 6.x), else a get_next_key walk + lookup (entries deleted during
 * the walk are skipped). Per-CPU values as in the module comment. */
static napi_value dump(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int32_t fd;
	if (get_i32(env, argv[0], &fd))
		return throw_type(env, "dump(fd)");
	__u32 ks = 0, vs = 0, type = 0;
	int err = map_sizes(fd, &ks, &vs, &type);
	if (err)
		return throw_errno(env, "dump info", err, NULL);
	size_t uvs = user_value_size(vs, type);
	struct growbuf k = {}, v = {};
	size_t tok = ks > 8 ? ks : 8; /* batch token: a bucket index (hash) or a key (generic) */
	char *cur = calloc(1, tok), *next = calloc(1, tok);
	__u32 count = 0;
	napi_value r = NULL;
	bool first = true;
	if (!cur || !next) {
		throw_errno(env, "dump", ENOMEM, NULL);
		goto out;
	}
	for (;;) {
		__u32 n = FN_BATCH;
		if (gb_reserve(&k, (size_t)n * ks) || gb_reserve(&v, (size_t)n * uvs)) {
			throw_errno(env, "dump", ENOMEM, NULL);
			goto out;
		}
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		err = bpf_map_lookup_batch(fd, first ? NULL : cur, next, k.data + k.len, v.data + v.len, &n, &bo);
		int e = errno;
		if (err && e != ENOENT) {
			if (first && (e == EINVAL || e == ENOTSUPP || e == EOPNOTSUPP))
				break; /* no batch support: walk below */
			throw_errno(env, "dump batch", e, NULL);
			goto out;
		}
		k.len += (size_t)n * ks;
		v.len += (size_t)n * uvs;
		count += n;
		if (err) { /* ENOENT: done */
			r = mk_dump(env, &k, &v, count);
			goto out;
		}
		first = false;
		memcpy(cur, next, tok);
	}
	k.len = v.len = 0;
	count = 0;
	first = true;
	for (;;) {
		if (bpf_map_get_next_key(fd, first ? NULL : cur, next)) {
			if (errno == ENOENT)
				break;
			throw_errno(env, "dump next_key", errno, NULL);
			goto out;
		}
		first = false;
		if (gb_reserve(&k, ks) || gb_reserve(&v, uvs)) {
			throw_errno(env, "dump", ENOMEM, NULL);
			goto out;
		}
		if (bpf_map_lookup_elem(fd, next, v.data + v.len) == 0) {
			memcpy(k.data + k.len, next, ks);
			k.len += ks;
			v.len += uvs;
			count++;
		}
		memcpy(cur, next, ks);
	}
	r = mk_dump(env, &k, &v, count);
out:
	free(cur);
	free(next);
	free(k.data);
	free(v.data);
	return r;
}

/* Reduces the per-CPU slots of one value into out (valueSize bytes). ops has one char per u64 field:
 *   's' sum over CPUs, 'm' min over CPUs whose field 0 != 0, 'M' max over CPUs whose field 0 != 0.
 * Bytes past the u64 fields are copied from the first CPU. */
static void reduce_percpu(const char *slots, size_t slot, int ncpu, const char *ops, size_t nops,
			  char *out, __u32 vs)
{
	memcpy(out, slots, vs);
	for (size_t f = 0; f < nops; f++) {
		__u64 acc = 0;
		bool seen = false;
		for (int c = 0; c < ncpu; c++) {
			const char *s = slots + (size_t)c * slot;
			__u64 x, gate;
			memcpy(&x, s + f * 8, 8);
			memcpy(&gate, s, 8);
			if (ops[f] == 's') {
				acc += x;
			} else if (gate) {
				if (!seen || (ops[f] == 'm' ? x < acc : x > acc))
					acc = x;
				seen = true;
			}
		}
		memcpy(out + f * 8, &acc, 8);
	}
}

/* readAndResetPercpu(fd, ops: string) → {keys, values, count}
 * Takes every entry out of a per-CPU hash map (BPF_MAP_LOOKUP_AND_DELETE_BATCH, or walk + lookup
 * + delete where batches are unsupported) and returns one reduced value (valueSize bytes) per key.
 * Increments made by a CPU between an entry's copy and its delete are lost (µs window). */
static napi_value read_and_reset_percpu(napi_env env, napi_callback_info info)
{
	ARGS(2);
	int32_t fd;
	char *ops = get_str(env, argv[1]);
	napi_value r = NULL;
	struct growbuf k = {}, v = {};
	char *kb = NULL, *vb = NULL, *cur = NULL;
	__u32 count = 0;
	if (get_i32(env, argv[0], &fd) || !ops) {
		throw_type(env, "readAndResetPercpu(fd, ops: string)");
		goto out;
	}
	__u32 ks = 0, vs = 0, type = 0;
	int err = map_sizes(fd, &ks, &vs, &type);
	if (err) {
		throw_errno(env, "readAndResetPercpu info", err, NULL);
		goto out;
	}
	if (!is_percpu(type) || strlen(ops) * 8 > vs) {
		throw_type(env, "readAndResetPercpu: not a per-CPU map or ops longer than the value");
		goto out;
	}
	int ncpu = libbpf_num_possible_cpus();
	size_t slot = (vs + 7) & ~7u, uvs = slot * (size_t)ncpu, nops = strlen(ops);
	kb = malloc((size_t)FN_BATCH * ks);
	vb = malloc((size_t)FN_BATCH * uvs);
	cur = calloc(1, ks > 8 ? ks : 8);
	if (!kb || !vb || !cur) {
		throw_errno(env, "readAndResetPercpu", ENOMEM, NULL);
		goto out;
	}
	bool batch_ok = true, first = true;
	__u64 in_batch = 0, out_batch = 0;
	while (batch_ok) {
		__u32 n = FN_BATCH;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in_batch, &out_batch, kb, vb,
						      &n, &bo);
		int e = errno;
		if (err && e != ENOENT) {
			if (first && (e == EINVAL || e == ENOTSUPP || e == EOPNOTSUPP)) {
				batch_ok = false;
				break;
			}
			throw_errno(env, "readAndResetPercpu batch", e, NULL);
			goto out;
		}
		first = false;
		if (gb_reserve(&k, (size_t)n * ks) || gb_reserve(&v, (size_t)n * vs)) {
			throw_errno(env, "readAndResetPercpu", ENOMEM, NULL);
			goto out;
		}
		memcpy(k.data + k.len, kb, (size_t)n * ks);
		k.len += (size_t)n * ks;
		for (__u32 i = 0; i < n; i++) {
			reduce_percpu(vb + (size_t)i * uvs, slot, ncpu, ops, nops, v.data + v.len, vs);
			v.len += vs;
		}
		count += n;
		if (err) /* ENOENT: walked the whole map */
			break;
		in_batch = out_batch;
	}
	if (!batch_ok) {
		/* Fallback: repeatedly take the first key; deleting makes the walk restart-safe. */
		for (;;) {
			if (bpf_map_get_next_key(fd, NULL, kb)) {
				if (errno == ENOENT)
					break;
				throw_errno(env, "readAndResetPercpu next_key", errno, NULL);
				goto out;
			}
			int got = bpf_map_lookup_elem(fd, kb, vb) == 0;
			bpf_map_delete_elem(fd, kb);
			if (!got)
				continue;
			if (gb_reserve(&k, ks) || gb_reserve(&v, vs)) {
				throw_errno(env, "readAndResetPercpu", ENOMEM, NULL);
				goto out;
			}
			memcpy(k.data + k.len, kb, ks);
			k.len += ks;
			reduce_percpu(vb, slot, ncpu, ops, nops, v.data + v.len, vs);
			v.len += vs;
			count++;
		}
	}
	r = mk_dump(env, &k, &v, count);
out:
	free(ops);
	free(kb);
	free(vb);
	free(cur);
	free(k.data);
	free(v.data);
	return r;
}

/* ---- module --------------------------------------------------------------------------------- */
static napi_value init(napi_env env, napi_value exports)
{
	libbpf_set_print(capture_print);
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	napi_property_descriptor d[] = {
		{"loadObject", NULL, load_object, NULL, NULL, NULL, napi_default, NULL},
		{"getObject", NULL, get_object, NULL, NULL, NULL, napi_default, NULL},
		{"pinObject", NULL, pin_object, NULL, NULL, NULL, napi_default, NULL},
		{"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
		{"openSocket", NULL, open_socket, NULL, NULL, NULL, napi_default, NULL},
		{"localPort", NULL, local_port, NULL, NULL, NULL, napi_default, NULL},
		{"mapInfo", NULL, map_info, NULL, NULL, NULL, napi_default, NULL},
		{"possibleCpus", NULL, possible_cpus, NULL, NULL, NULL, napi_default, NULL},
		{"synchronizeRcu", NULL, synchronize_rcu, NULL, NULL, NULL, napi_default, NULL},
		{"attachTcx", NULL, attach_tcx, NULL, NULL, NULL, napi_default, NULL},
		{"detachTcx", NULL, detach_tcx, NULL, NULL, NULL, napi_default, NULL},
		{"attachTc", NULL, attach_tc, NULL, NULL, NULL, napi_default, NULL},
		{"detachTc", NULL, detach_tc, NULL, NULL, NULL, napi_default, NULL},
		{"updateBatch", NULL, update_batch, NULL, NULL, NULL, napi_default, NULL},
		{"deleteBatch", NULL, delete_batch, NULL, NULL, NULL, napi_default, NULL},
		{"lookup", NULL, lookup, NULL, NULL, NULL, napi_default, NULL},
		{"dump", NULL, dump, NULL, NULL, NULL, napi_default, NULL},
		{"readAndResetPercpu", NULL, read_and_reset_percpu, NULL, NULL, NULL, napi_default, NULL},
	};
	napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
