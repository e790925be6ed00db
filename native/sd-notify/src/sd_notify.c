// The few lines of C behind sd_notify(3), for logship: Node.js cannot send a unix datagram.
//
//   notify(socket, state)  one datagram `state` to `socket` ($NOTIFY_SOCKET: a path, or an
//                          abstract name written with a leading '@'); throws an Error whose
//                          `code` is the errno name (ENOENT, ECONNREFUSED, EAGAIN, ...)
//   monotonicUsec()        CLOCK_MONOTONIC in microseconds, as a bigint: the clock systemd
//                          expects in MONOTONIC_USEC= next to RELOADING=1
//
// No libsystemd: the protocol is one datagram of newline-separated KEY=VALUE assignments, and
// linking libsystemd would add a build and runtime dependency for these few lines. The send
// never blocks (MSG_DONTWAIT): the event loop whose liveness WATCHDOG=1 vouches for must not
// wait on systemd; a full queue is reported (EAGAIN) and the caller decides.

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define CHECK(call)                                                              \
  do {                                                                           \
    if ((call) != napi_ok) {                                                     \
      napi_throw_error(env, "ERR_SD_NOTIFY_NAPI", "sd-notify: N-API call failed: " #call); \
      return NULL;                                                               \
    }                                                                            \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char* what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, uv_err_name(-err), message);
  return NULL;
}

// Reads a string argument into a malloc'd buffer (caller frees); NULL after throwing.
static char* string_arg(napi_env env, napi_value value, const char* name, size_t* length) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) {
    char message[96];
    snprintf(message, sizeof message, "sd-notify: %s must be a string", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return NULL;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char* buf = malloc(len + 1);
  if (buf == NULL) {
    napi_throw_error(env, "ENOMEM", "sd-notify: out of memory");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, value, buf, len + 1, &len) != napi_ok) {
    free(buf);
    return NULL;
  }
  *length = len;
  return buf;
}

static napi_value Notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "sd-notify: notify(socket, state)");
    return NULL;
  }
  size_t path_len = 0, state_len = 0;
  char* path = string_arg(env, argv[0], "socket", &path_len);
  if (path == NULL) return NULL;
  char* state = string_arg(env, argv[1], "state", &state_len);
  if (state == NULL) {
    free(path);
    return NULL;
  }

  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  napi_value result = NULL;
  if (path_len == 0 || (path[0] != '/' && path[0] != '@')) {
    napi_throw_error(env, "EAFNOSUPPORT", "sd-notify: NOTIFY_SOCKET must be an absolute path or an abstract name starting with '@'");
    goto done;
  }
  if (path_len > sizeof addr.sun_path - (path[0] == '/' ? 1 : 0)) {
    throw_errno(env, ENAMETOOLONG, "sd-notify: NOTIFY_SOCKET");
    goto done;
  }
  memcpy(addr.sun_path, path, path_len);
  // An abstract name: '@' stands for the leading NUL byte, and the address length (not a
  // terminating NUL) says where the name ends.
  if (path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + (path[0] == '/' ? 1 : 0));

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "sd-notify: socket");
    goto done;
  }
  ssize_t sent;
  do {
    sent = sendto(fd, state, state_len, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr*)&addr, addr_len);
  } while (sent < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (sent < 0) {
    throw_errno(env, err, "sd-notify: sendto NOTIFY_SOCKET");
    goto done;
  }
  if ((size_t)sent != state_len) {
    napi_throw_error(env, "EMSGSIZE", "sd-notify: the datagram was cut short");
    goto done;
  }
  napi_get_undefined(env, &result);
done:
  free(path);
  free(state);
  return result;
}

static napi_value MonotonicUsec(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return throw_errno(env, errno, "sd-notify: clock_gettime");
  napi_value result;
  CHECK(napi_create_bigint_uint64(env, (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u, &result));
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"notify", NULL, Notify, NULL, NULL, NULL, napi_enumerable, NULL},
      {"monotonicUsec", NULL, MonotonicUsec, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
