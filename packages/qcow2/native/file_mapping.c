/*
 * file_mapping: read-only memory mappings of a local file or block device, for @ferry/qcow2.
 *
 * Node has no mmap. Reading a volume with read() copies every byte out of the page cache
 * (the kernel's _copy_to_iter was half of a 4 GiB scan's CPU time); a mapping lets the zero
 * check and the comparisons read the page cache where it is. Two functions, nothing else:
 *
 *   map(fd, offset, length, populate = true) -> ArrayBuffer
 *     Maps `length` bytes of `fd` from `offset` (any offset: the mapping starts at the page
 *     below it), read-only and shared, and with `populate` faults every page in at once. The
 *     range must lie inside the file or device (checked here: a byte past the end would raise
 *     SIGBUS).
 *   populate(buffer, start, length)
 *     Faults in the pages of bytes [start, start + length) of a mapping (MADV_POPULATE_READ:
 *     Linux 5.14 or later), reporting a page that cannot be read as an error.
 *   release(buffer, start, length)
 *     Drops those pages from the process (MADV_DONTNEED: they no longer count in its RSS);
 *     reading them again faults them back in from the page cache.
 *   unmap(buffer)
 *     Detaches the ArrayBuffer (every view of it becomes empty, so no JavaScript can read the
 *     memory afterwards) and unmaps it. A buffer that is never unmapped stays mapped until
 *     the process exits.
 *
 * A large mapping populated and released piece by piece costs one mmap and one munmap, which
 * take the process's mmap lock for writing and so stall every other thread's faults; a
 * mapping per piece made two scanning threads slower than one (see the package README).
 *
 * Errors are thrown as JavaScript errors whose code is the errno name (EBADF, ENODEV...) or
 * ERR_INVALID_ARG_VALUE for a bad argument, with a message naming the argument.
 *
 * What a mapping cannot do that read() does: report every I/O error. A page that cannot be
 * read while populating fails map (thrown here), but one evicted and failing to read back
 * later, or a file truncated by someone else while mapped, raises SIGBUS and ends the
 * process. Callers map short ranges, use them at once and unmap them.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(env, call)                                                       \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      napi_throw_error((env), NULL, "file_mapping: N-API call failed: " #call); \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

/* Marks the ArrayBuffers made by map, so that unmap refuses any other. */
static const napi_type_tag MAPPING_TAG = {0x6665727279716377ULL, 0x32666d6170706e67ULL};

static napi_value invalid(napi_env env, const char *message) {
  napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", message);
  return NULL;
}

static napi_value system_error(napi_env env, const char *call, int error) {
  char message[160];
  snprintf(message, sizeof message, "%s failed: %s", call, strerror(error));
  napi_throw_error(env, strerrorname_np(error), message);
  return NULL;
}

/* A non-negative integer below 2^53, or -1. */
static int64_t whole_number(napi_env env, napi_value value) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return -1;
  if (!(number >= 0 && number <= 9007199254740991.0) || number != (double)(int64_t)number)
    return -1;
  return (int64_t)number;
}

/* Size of a regular file or block device, or -1 with errno set. */
static int64_t size_of(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  if (S_ISREG(st.st_mode)) return st.st_size;
  if (S_ISBLK(st.st_mode)) {
    uint64_t bytes;
    if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) return -1;
    return (int64_t)bytes;
  }
  errno = ENODEV;
  return -1;
}

static napi_value map(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return invalid(env, "map(fd, offset, length, populate) takes 3 or 4 arguments");
  bool populate = true;
  if (argc == 4 && napi_get_value_bool(env, argv[3], &populate) != napi_ok)
    return invalid(env, "populate must be a boolean");
  int64_t fd = whole_number(env, argv[0]);
  int64_t offset = whole_number(env, argv[1]);
  int64_t length = whole_number(env, argv[2]);
  if (fd < 0 || fd > INT32_MAX) return invalid(env, "fd must be an open file descriptor");
  if (offset < 0) return invalid(env, "offset must be a non-negative integer");
  if (length <= 0 || length > (int64_t)1 << 40)
    return invalid(env, "length must be a positive integer of at most 1 TiB");
  int64_t size = size_of((int)fd);
  if (size < 0) return system_error(env, "fstat", errno);
  if (offset + length > size) {
    char message[160];
    snprintf(message, sizeof message,
             "offset %lld + length %lld is past the end of the file (%lld bytes)",
             (long long)offset, (long long)length, (long long)size);
    return invalid(env, message);
  }
  int64_t page = sysconf(_SC_PAGESIZE);
  int64_t skip = offset % page;
  size_t mapped = (size_t)(length + skip);
  void *base = mmap(NULL, mapped, PROT_READ, MAP_SHARED, (int)fd, (off_t)(offset - skip));
  if (base == MAP_FAILED) return system_error(env, "mmap", errno);
  /* Read-ahead of exactly this range (pages already in the page cache are skipped), and no
   * read-around on faults: a fault on a page not in the page cache would otherwise read the
   * device's whole read-ahead window around it (8 MiB here), holes of a sparse file included.
   * Then, with populate, every page is faulted in now, and one that cannot be read is an
   * error here rather than SIGBUS later (MAP_POPULATE would ignore it). */
  int advice = posix_fadvise((int)fd, (off_t)(offset - skip), (off_t)mapped, POSIX_FADV_WILLNEED);
  if (advice != 0) {
    munmap(base, mapped);
    return system_error(env, "posix_fadvise", advice);
  }
  if (madvise(base, mapped, MADV_RANDOM) != 0 ||
      (populate && madvise(base, mapped, MADV_POPULATE_READ) != 0)) {
    int error = errno;
    munmap(base, mapped);
    return system_error(env, "madvise", error);
  }
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, (char *)base + skip, (size_t)length, NULL, NULL,
                                       &buffer) != napi_ok) {
    munmap(base, mapped);
    napi_throw_error(env, NULL, "file_mapping: napi_create_external_arraybuffer failed");
    return NULL;
  }
  if (napi_type_tag_object(env, buffer, &MAPPING_TAG) != napi_ok) {
    munmap(base, mapped);
    napi_throw_error(env, NULL, "file_mapping: napi_type_tag_object failed");
    return NULL;
  }
  return buffer;
}

/* The mapping in argv[0] (made by map, not unmapped): its bytes, or false with an exception. */
static bool mapping_of(napi_env env, napi_value value, const char *call, void **data,
                       size_t *length) {
  char message[120];
  bool is_buffer = false, ours = false, detached = false;
  if (napi_is_arraybuffer(env, value, &is_buffer) != napi_ok || !is_buffer) {
    snprintf(message, sizeof message, "%s: buffer must be the ArrayBuffer map returned", call);
    invalid(env, message);
    return false;
  }
  if (napi_check_object_type_tag(env, value, &MAPPING_TAG, &ours) != napi_ok || !ours) {
    snprintf(message, sizeof message, "%s: buffer is not a mapping made by map", call);
    invalid(env, message);
    return false;
  }
  if (napi_is_detached_arraybuffer(env, value, &detached) != napi_ok || detached) {
    snprintf(message, sizeof message, "%s: buffer was already unmapped", call);
    invalid(env, message);
    return false;
  }
  if (napi_get_arraybuffer_info(env, value, data, length) != napi_ok) {
    napi_throw_error(env, NULL, "file_mapping: napi_get_arraybuffer_info failed");
    return false;
  }
  return true;
}

/* madvise(advice) on the pages holding bytes [start, start + length) of a mapping. */
static napi_value advise_range(napi_env env, napi_callback_info info, const char *call,
                               int advice) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char message[120];
  if (argc != 3) {
    snprintf(message, sizeof message, "%s(buffer, start, length) takes 3 arguments", call);
    return invalid(env, message);
  }
  void *data;
  size_t size;
  if (!mapping_of(env, argv[0], call, &data, &size)) return NULL;
  int64_t start = whole_number(env, argv[1]);
  int64_t length = whole_number(env, argv[2]);
  if (start < 0 || length <= 0 || (uint64_t)(start + length) > size) {
    snprintf(message, sizeof message,
             "%s: start and length must be integers inside the %zu-byte mapping", call, size);
    return invalid(env, message);
  }
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t first = ((uintptr_t)data + (uintptr_t)start) & ~(page - 1);
  uintptr_t end = (uintptr_t)data + (uintptr_t)(start + length);
  if (madvise((void *)first, end - first, advice) != 0) return system_error(env, "madvise", errno);
  return NULL;
}

static napi_value populate(napi_env env, napi_callback_info info) {
  return advise_range(env, info, "populate", MADV_POPULATE_READ);
}

static napi_value release(napi_env env, napi_callback_info info) {
  return advise_range(env, info, "release", MADV_DONTNEED);
}

static napi_value unmap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1) return invalid(env, "unmap(buffer) takes 1 argument");
  void *data;
  size_t length;
  if (!mapping_of(env, argv[0], "unmap", &data, &length)) return NULL;
  CHECK(env, napi_detach_arraybuffer(env, argv[0]));
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = (uintptr_t)data & ~(page - 1);
  if (munmap((void *)start, length + ((uintptr_t)data - start)) != 0)
    return system_error(env, "munmap", errno);
  return NULL;
}

static napi_status export_function(napi_env env, napi_value exports, const char *name,
                                   napi_callback callback) {
  napi_value function;
  napi_status status = napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, NULL, &function);
  return status == napi_ok ? napi_set_named_property(env, exports, name, function) : status;
}

NAPI_MODULE_INIT() {
  CHECK(env, export_function(env, exports, "map", map));
  CHECK(env, export_function(env, exports, "populate", populate));
  CHECK(env, export_function(env, exports, "release", release));
  CHECK(env, export_function(env, exports, "unmap", unmap));
  return exports;
}
