/*
 * A Linux packet socket with memory-mapped receive and transmit rings
 * (PACKET_MMAP, TPACKET_V2), for the packet-ring device of io-pcap.
 *
 * This file opens the socket, maps the rings, watches the socket for
 * readability, kicks the transmit ring, and checks the TCP checksums of a
 * burst of received frames, as a NIC's receive checksum offload would.
 * JavaScript reads and writes the ring slots itself through an ArrayBuffer
 * over the mapping, so no call crosses into native code per frame: one
 * wake-up and one checksum call per burst of received frames, one flush per
 * burst of sent frames.
 *
 * The send() that hands marked frames to the kernel runs on a thread of its
 * own, as a NIC's transmit DMA runs beside the CPU. On a veth pair, or on any
 * link whose peer is on this machine, that call does the peer's receive
 * processing too, and for a peer sending to us, its ACK processing and the
 * transmission of its next data: the largest share of a download's time on our
 * thread. On its own thread the kernel does that work on another CPU, while
 * JavaScript reads the next burst. A flush of only a few frames is sent at
 * once instead, when the thread is idle: waking it costs a round trip more
 * than the send.
 *
 * Kernel documentation: Documentation/networking/packet_mmap.rst.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <node_api.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* struct tpacket2_hdr fields read here. checkBurst's verdict goes in its padding, which is ours while the slot is. */
#define SLOT_STATUS 0
#define SLOT_LENGTH 4
#define SLOT_SNAPLEN 8
#define SLOT_MAC 12
#define SLOT_VERDICT 28
/*
 * On the head of a merged run (verdict 2), in the rest of the padding: how
 * many slots after it the run absorbed (a 16-bit count, host order). Those
 * are given back to the kernel at once, their data being in the area, so
 * JavaScript steps over them without reading them. The kernel cannot fill
 * them before JavaScript has passed them: it fills the ring in order and
 * stops at the first slot still ours, and the head is before them.
 */
#define SLOT_ABSORBED 30
/* sockaddr_ll.sll_pkttype, after the header. */
#define SLOT_PACKET_TYPE (32 + 10)
/* Where a frame to send starts in its slot: TPACKET2_HDRLEN - sizeof(struct sockaddr_ll). */
#define TX_DATA 32
/* A flush of at most this many frames is sent by the flushing thread itself (see flush_ring). */
#define INLINE_SEND_LIMIT 32u

typedef struct {
  int fd;
  /* The receive ring, for check_burst: where it is and how its slots are laid out. */
  uint8_t* rx_ring;
  uint32_t rx_frame_size;
  uint32_t rx_frame_count;
  /* The transmit ring, for flush's checksums. */
  uint8_t* tx_ring;
  uint32_t tx_frame_size;
  uint32_t tx_frame_count;
  uv_poll_t poll;
  /* The transmit thread: kicked by flush, it calls send() until the kernel took every marked frame. */
  pthread_t tx_thread;
  pthread_mutex_t tx_lock;
  pthread_cond_t tx_wake;
  int tx_kicks;   /* under tx_lock: flushes not yet followed by a send() */
  int tx_stop;    /* under tx_lock: close() wants the thread to end */
  int tx_busy;    /* under tx_lock: the thread is in send() */
  int tx_error;   /* atomic: the last error of a send() that cannot be retried, for the next flush to report */
  int tx_started;
  napi_env env;
  napi_ref on_readable;
  napi_async_context async;
  int closed;   /* close() ran: fd closed, poll handle closing */
  int released; /* the JS handle was collected */
  int handle_closed;
} ring_t;

static napi_value throw_errno(napi_env env, const char* what, int error) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(error));
  char code[32];
  snprintf(code, sizeof code, "E%d", error);
  napi_throw_error(env, code, message);
  return NULL;
}

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "packet-ring: N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static void free_if_done(ring_t* ring) {
  if (!ring->released || !ring->handle_closed) return;
  pthread_cond_destroy(&ring->tx_wake);
  pthread_mutex_destroy(&ring->tx_lock);
  free(ring);
}

static void on_handle_closed(uv_handle_t* handle) {
  ring_t* ring = handle->data;
  ring->handle_closed = 1;
  free_if_done(ring);
}

/* The header of transmit or receive slot `index`: where the kernel and we exchange it. */
static uint8_t* tx_slot(const ring_t* ring, uint32_t index) { return ring->tx_ring + (size_t)index * ring->tx_frame_size; }
static uint8_t* rx_slot(const ring_t* ring, uint32_t index) { return ring->rx_ring + (size_t)index * ring->rx_frame_size; }

/* The slot after `index` in a ring of `count`. */
static uint32_t next_slot(uint32_t index, uint32_t count) { return index + 1 == count ? 0 : index + 1; }

/* Transient refusals of the kernel: the frames stay marked and go on the next attempt. */
static int retryable(int error) { return error == EAGAIN || error == ENOBUFS || error == EINTR; }

static void* transmit_loop(void* data) {
  ring_t* ring = data;
  pthread_mutex_lock(&ring->tx_lock);
  for (;;) {
    while (ring->tx_kicks == 0 && !ring->tx_stop) pthread_cond_wait(&ring->tx_wake, &ring->tx_lock);
    /* What was flushed before close() still leaves: the last ACK or RST of a connection is among it. */
    if (ring->tx_kicks == 0) break;
    ring->tx_kicks = 0;
    ring->tx_busy = 1;
    pthread_mutex_unlock(&ring->tx_lock);
    /* The kernel takes every marked frame in ring order. Not waiting for their completion keeps
     * close() from waiting on a link that holds frames back. */
    if (send(ring->fd, NULL, 0, MSG_DONTWAIT) < 0) {
      int error = errno;
      if (retryable(error)) {
        struct timespec pause = {0, 100 * 1000};
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&ring->tx_lock);
        if (!ring->tx_stop) ring->tx_kicks++;
        continue;
      }
      __atomic_store_n(&ring->tx_error, error, __ATOMIC_RELEASE);
    }
    pthread_mutex_lock(&ring->tx_lock);
    ring->tx_busy = 0;
  }
  pthread_mutex_unlock(&ring->tx_lock);
  return NULL;
}

/* Ends the transmit thread once it has sent what was flushed. */
static void stop_transmitting(ring_t* ring) {
  if (!ring->tx_started) return;
  pthread_mutex_lock(&ring->tx_lock);
  ring->tx_stop = 1;
  pthread_cond_signal(&ring->tx_wake);
  pthread_mutex_unlock(&ring->tx_lock);
  pthread_join(ring->tx_thread, NULL);
  ring->tx_started = 0;
}

static void close_ring(ring_t* ring) {
  if (ring->closed) return;
  ring->closed = 1;
  stop_transmitting(ring);
  uv_poll_stop(&ring->poll);
  uv_close((uv_handle_t*)&ring->poll, on_handle_closed);
  close(ring->fd);
  if (ring->on_readable != NULL) {
    napi_delete_reference(ring->env, ring->on_readable);
    ring->on_readable = NULL;
  }
  if (ring->async != NULL) {
    napi_async_destroy(ring->env, ring->async);
    ring->async = NULL;
  }
}

static void finalize_ring(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  ring_t* ring = data;
  close_ring(ring);
  ring->released = 1;
  free_if_done(ring);
}

/* The mapping outlives the socket: views of it stay valid until the last one is collected. */
static void unmap_rings(napi_env env, void* data, void* hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  (void)events;
  ring_t* ring = handle->data;
  if (ring->closed || ring->on_readable == NULL) return;
  napi_env env = ring->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, receiver, argument, result;
  if (status < 0) {
    /* libuv reports a socket error as EBADF; the socket itself knows what happened (e.g. ENETDOWN). */
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(ring->fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error != 0) status = -error;
  }
  if (napi_get_reference_value(env, ring->on_readable, &callback) == napi_ok &&
      napi_get_global(env, &receiver) == napi_ok &&
      napi_create_int32(env, status, &argument) == napi_ok) {
    /* A throwing callback is reported as an uncaught exception, as for any other event. */
    if (napi_make_callback(env, ring->async, receiver, callback, 1, &argument, &result) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value error;
        napi_get_and_clear_last_exception(env, &error);
        napi_fatal_exception(env, error);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

/* ---- checksum offload, both ways ----
 *
 * Receiving, the device tells the host which frames carry a correct TCP
 * checksum, so that the host need not sum them again (as Linux trusts
 * CHECKSUM_UNNECESSARY from a NIC). A frame that is not an unfragmented
 * IPv4/TCP datagram, or whose sum is wrong, is simply not vouched for: the host
 * checks it itself and drops it with its own reason. Sending, the device
 * finishes the checksums the host left to it (CHECKSUM_PARTIAL). The rules for
 * the segment's extent are the host's: IPv4 header length and total length as
 * the header gives them (RFC 791).
 */

/* Sum of little-endian 16-bit words of [p, p + n), not folded. Byte order does not
 * matter to a one's complement sum but for one swap at the end (RFC 1071 §2(B)). */
static uint64_t sum_le_words(const uint8_t* p, size_t n) {
  uint64_t a = 0, b = 0;
  /* Each step adds at most 2^34 to an accumulator: no overflow below 2^30 bytes. */
  for (; n >= 16; p += 16, n -= 16) {
    uint64_t x, y;
    memcpy(&x, p, 8);
    memcpy(&y, p + 8, 8);
    a += (x & 0xffffffffu) + (x >> 32);
    b += (y & 0xffffffffu) + (y >> 32);
  }
  for (; n >= 2; p += 2, n -= 2) {
    uint16_t h;
    memcpy(&h, p, 2);
    a += h;
  }
  /* An odd last byte is padded with a zero on the right: the low byte of a little-endian word. */
  if (n == 1) a += *p;
  return a + b;
}

static uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

static uint16_t swap16(uint16_t value) { return (uint16_t)((value << 8) | (value >> 8)); }

/*
 * The TCP segment of an Ethernet frame holding an unfragmented IPv4 TCP
 * datagram: its offset in the frame and its length; 0 for any other frame.
 */
static int tcp_segment_of(const uint8_t* frame, size_t length, size_t* start, size_t* segment) {
  if (length < 14 + 20 || frame[12] != 0x08 || frame[13] != 0x00) return 0;
  const uint8_t* ip = frame + 14;
  size_t header = (size_t)(ip[0] & 0x0f) * 4;
  size_t total = ((size_t)ip[2] << 8) | ip[3];
  if ((ip[0] >> 4) != 4 || header < 20 || total < header + 20 || total > length - 14) return 0;
  if (ip[9] != 6 || (((ip[6] & 0x3f) << 8) | ip[7]) != 0) return 0; /* not TCP, or a fragment (MF or offset) */
  *start = 14 + header;
  *segment = total - header;
  return 1;
}

/*
 * The pseudo-header's sum (RFC 9293 §3.1) for a TCP segment of `segment` bytes behind the IPv4
 * header `ip`: addresses as they lie in memory, protocol and length swapped into that order.
 */
static uint64_t pseudo_header_sum(const uint8_t* ip, size_t segment) {
  return sum_le_words(ip + 12, 8) + swap16(6) + swap16((uint16_t)segment);
}

/* 1 when `frame` holds an unfragmented IPv4 TCP segment whose checksum is right. */
static int tcp_checksum_ok(const uint8_t* frame, size_t length) {
  size_t start, segment;
  if (!tcp_segment_of(frame, length, &start, &segment)) return 0;
  return fold(pseudo_header_sum(frame + 14, segment) + sum_le_words(frame + start, segment)) == 0xffff;
}

/*
 * Transmit checksum offload: the host left the pseudo-header sum in the TCP
 * checksum field (CHECKSUM_PARTIAL); summing the segment over it covers the
 * pseudo-header too, and the complement is the checksum. Other frames are left alone.
 */
static void finish_tcp_checksum(uint8_t* frame, size_t length) {
  size_t start, segment;
  if (!tcp_segment_of(frame, length, &start, &segment)) return;
  /* Complement and byte swap commute: the little-endian result is stored as it lies. */
  uint16_t checksum = (uint16_t)~fold(sum_le_words(frame + start, segment));
  memcpy(frame + start + 16, &checksum, 2);
}

static int setsockopt_int(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value);
}

/*
 * open(interface, frameSize, blockSize, rxBlocks, txBlocks)
 *   -> { handle, rings: ArrayBuffer, rxFrames, txFrames }
 * The receive ring comes first in `rings`, the transmit ring right after it.
 */
static napi_value open_ring(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "open(interface, frameSize, blockSize, rxBlocks, txBlocks)");
    return NULL;
  }
  char name[IF_NAMESIZE + 1];
  size_t name_length = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_length) != napi_ok) {
    napi_throw_type_error(env, NULL, "interface must be a string");
    return NULL;
  }
  uint32_t frame_size, block_size, rx_blocks, tx_blocks;
  CHECK(napi_get_value_uint32(env, argv[1], &frame_size));
  CHECK(napi_get_value_uint32(env, argv[2], &block_size));
  CHECK(napi_get_value_uint32(env, argv[3], &rx_blocks));
  CHECK(napi_get_value_uint32(env, argv[4], &tx_blocks));
  if (frame_size < TPACKET2_HDRLEN || block_size % frame_size != 0 || rx_blocks == 0 || tx_blocks == 0) {
    napi_throw_range_error(env, NULL, "bad ring geometry");
    return NULL;
  }

  unsigned int index = if_nametoindex(name);
  if (index == 0) return throw_errno(env, name, errno);

  /* Protocol 0 receives nothing until bind() names the interface and ETH_P_ALL. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_PACKET)", errno);

  struct tpacket_req rx = {block_size, rx_blocks, frame_size, block_size / frame_size * rx_blocks};
  struct tpacket_req tx = {block_size, tx_blocks, frame_size, block_size / frame_size * tx_blocks};
  size_t rx_bytes = (size_t)block_size * rx_blocks;
  size_t mapped = rx_bytes + (size_t)block_size * tx_blocks;
  const char* step = NULL;
  if (setsockopt_int(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2) < 0) step = "PACKET_VERSION";
  else if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &rx, sizeof rx) < 0) step = "PACKET_RX_RING";
  else if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &tx, sizeof tx) < 0) step = "PACKET_TX_RING";
  if (step != NULL) {
    int error = errno;
    close(fd);
    return throw_errno(env, step, error);
  }
  /* Our own frames need no queueing discipline; the kernel's outgoing frames are not for us. */
  setsockopt_int(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
  setsockopt_int(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);

  void* rings = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (rings == MAP_FAILED) {
    int error = errno;
    close(fd);
    return throw_errno(env, "mmap", error);
  }
  struct sockaddr_ll address;
  memset(&address, 0, sizeof address);
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = (int)index;
  struct packet_mreq promiscuous;
  memset(&promiscuous, 0, sizeof promiscuous);
  promiscuous.mr_ifindex = (int)index;
  promiscuous.mr_type = PACKET_MR_PROMISC;
  if (bind(fd, (struct sockaddr*)&address, sizeof address) < 0) step = "bind";
  /* Our MAC is not the interface's: without promiscuous mode a real NIC would filter our frames out. */
  else if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &promiscuous, sizeof promiscuous) < 0)
    step = "PACKET_ADD_MEMBERSHIP";
  if (step != NULL) {
    int error = errno;
    munmap(rings, mapped);
    close(fd);
    return throw_errno(env, step, error);
  }

  ring_t* ring = calloc(1, sizeof *ring);
  if (ring == NULL) {
    munmap(rings, mapped);
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  ring->fd = fd;
  ring->env = env;
  ring->rx_ring = rings;
  ring->rx_frame_size = frame_size;
  ring->rx_frame_count = rx.tp_frame_nr;
  ring->tx_ring = (uint8_t*)rings + rx_bytes;
  ring->tx_frame_size = frame_size;
  ring->tx_frame_count = tx.tp_frame_nr;
  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init(loop, &ring->poll, fd) != 0) {
    munmap(rings, mapped);
    close(fd);
    free(ring);
    return throw_errno(env, "uv_poll_init", EINVAL);
  }
  ring->poll.data = ring;
  pthread_mutex_init(&ring->tx_lock, NULL);
  pthread_cond_init(&ring->tx_wake, NULL);
  int started = pthread_create(&ring->tx_thread, NULL, transmit_loop, ring);
  if (started != 0) {
    /* The poll handle was initialised: it must be closed through libuv before the memory goes. */
    ring->released = 1;
    close_ring(ring);
    munmap(rings, mapped);
    return throw_errno(env, "pthread_create", started);
  }
  ring->tx_started = 1;

  napi_value result, handle, buffer, value;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_external(env, ring, finalize_ring, NULL, &handle));
  CHECK(napi_create_external_arraybuffer(env, rings, mapped, unmap_rings, (void*)(uintptr_t)mapped, &buffer));
  CHECK(napi_set_named_property(env, result, "handle", handle));
  CHECK(napi_set_named_property(env, result, "rings", buffer));
  CHECK(napi_create_uint32(env, rx.tp_frame_nr, &value));
  CHECK(napi_set_named_property(env, result, "rxFrames", value));
  CHECK(napi_create_uint32(env, tx.tp_frame_nr, &value));
  CHECK(napi_set_named_property(env, result, "txFrames", value));
  return result;
}

/* The ring of a call whose first argument is a handle; `argv` gets the other `extra` arguments (at most two). Throws and gives NULL otherwise. */
static ring_t* ring_argument(napi_env env, napi_callback_info info, napi_value* argv, size_t extra) {
  size_t argc = 1 + extra;
  napi_value args[3];
  void* data = NULL;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 1 + extra ||
      napi_get_value_external(env, args[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "expected a packet-ring handle");
    return NULL;
  }
  for (size_t i = 0; i < extra; i++) argv[i] = args[1 + i];
  return data;
}

/* The ring of a call (handle, a, b) with two unsigned 32-bit arguments; throws and gives NULL otherwise. */
static ring_t* ring_and_two_numbers(napi_env env, napi_callback_info info, uint32_t* a, uint32_t* b) {
  napi_value argv[2];
  ring_t* ring = ring_argument(env, info, argv, 2);
  if (ring == NULL) return NULL;
  if (napi_get_value_uint32(env, argv[0], a) != napi_ok || napi_get_value_uint32(env, argv[1], b) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected two unsigned integers after the handle");
    return NULL;
  }
  return ring;
}

/* start(handle, onReadable): calls onReadable(status) whenever the socket is readable (status < 0: an error). */
static napi_value start_ring(napi_env env, napi_callback_info info) {
  napi_value on_readable;
  ring_t* ring = ring_argument(env, info, &on_readable, 1);
  if (ring == NULL) return NULL;
  if (ring->closed) {
    napi_throw_error(env, NULL, "packet ring is closed");
    return NULL;
  }
  if (ring->on_readable != NULL) napi_delete_reference(env, ring->on_readable);
  CHECK(napi_create_reference(env, on_readable, 1, &ring->on_readable));
  if (ring->async == NULL) {
    napi_value name;
    CHECK(napi_create_string_utf8(env, "PacketRing", NAPI_AUTO_LENGTH, &name));
    CHECK(napi_async_init(env, NULL, name, &ring->async));
  }
  int status = uv_poll_start(&ring->poll, UV_READABLE, on_poll);
  if (status != 0) return throw_errno(env, "uv_poll_start", -status);
  return NULL;
}

/*
 * flush(handle, first, count) -> errno (0, or the error a send() since the last flush could not get past).
 * Finishes the TCP checksums of the `count` transmit slots from `first`
 * (transmit checksum offload), marks them SEND_REQUEST, and wakes the transmit
 * thread, which has the kernel send every marked slot in ring order. Only
 * marked slots are the kernel's: it may be sending earlier ones meanwhile, so a
 * slot is marked only once its frame is complete.
 */
static napi_value flush_ring(napi_env env, napi_callback_info info) {
  uint32_t first, count;
  ring_t* ring = ring_and_two_numbers(env, info, &first, &count);
  if (ring == NULL) return NULL;
  int error = ring->closed ? EBADF : __atomic_exchange_n(&ring->tx_error, 0, __ATOMIC_ACQ_REL);
  uint32_t flushed = count;
  if (!ring->closed && first < ring->tx_frame_count) {
    if (count > ring->tx_frame_count) count = ring->tx_frame_count;
    for (uint32_t slot = first; count > 0; count--) {
      uint8_t* header = tx_slot(ring, slot);
      uint32_t length;
      memcpy(&length, header + SLOT_LENGTH, 4);
      if (TX_DATA + (size_t)length <= ring->tx_frame_size) finish_tcp_checksum(header + TX_DATA, length);
      __atomic_store_n((uint32_t*)(header + SLOT_STATUS), (uint32_t)TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
      slot = next_slot(slot, ring->tx_frame_count);
    }
  }
  if (!ring->closed) {
    /* A few frames go at once from here, when the thread has nothing in hand: waking it
     * would add more latency than their send() costs (a small window on a lossy path is
     * bound by the round trip). A failed attempt is left to the thread, which retries. */
    int sent_inline = 0;
    if (flushed <= INLINE_SEND_LIMIT) {
      pthread_mutex_lock(&ring->tx_lock);
      int idle = ring->tx_kicks == 0 && !ring->tx_busy;
      pthread_mutex_unlock(&ring->tx_lock);
      if (idle && send(ring->fd, NULL, 0, MSG_DONTWAIT) >= 0) sent_inline = 1;
    }
    if (!sent_inline) {
      pthread_mutex_lock(&ring->tx_lock);
      ring->tx_kicks++;
      pthread_cond_signal(&ring->tx_wake);
      pthread_mutex_unlock(&ring->tx_lock);
    }
  }
  napi_value result;
  CHECK(napi_create_int32(env, error, &result));
  return result;
}

/*
 * waitForSlot(handle, index, timeoutMicros) -> boolean
 * Waits, polling, until the kernel has given transmit slot `index` back (sent,
 * or refused as malformed), at most `timeoutMicros`: the transmit thread may be
 * sending it right now. True when the slot is free.
 */
static napi_value wait_for_slot(napi_env env, napi_callback_info info) {
  uint32_t index, timeout;
  ring_t* ring = ring_and_two_numbers(env, info, &index, &timeout);
  if (ring == NULL) return NULL;
  bool free_now = false;
  if (!ring->closed && index < ring->tx_frame_count) {
    uint32_t* status = (uint32_t*)(tx_slot(ring, index) + SLOT_STATUS);
    struct timespec start, now, pause = {0, 20 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      uint32_t value = __atomic_load_n(status, __ATOMIC_ACQUIRE);
      if (value == TP_STATUS_AVAILABLE || value == TP_STATUS_WRONG_FORMAT) {
        free_now = true;
        break;
      }
      clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t waited = (int64_t)(now.tv_sec - start.tv_sec) * 1000000 + (now.tv_nsec - start.tv_nsec) / 1000;
      if (waited >= (int64_t)timeout) break;
      nanosleep(&pause, NULL);
    }
  }
  napi_value result;
  CHECK(napi_get_boolean(env, free_now, &result));
  return result;
}

/* ---- receive coalescing ----
 *
 * Consecutive segments of one flow in a burst are handed to the host as one
 * frame, as Linux's GRO does for a NIC: the host then decodes and processes a
 * run of segments once, and acknowledges them as the segments they were (it
 * is told their size). Only in-order, checksum-verified, plain data segments
 * of identical headers are merged: everything that could mean something to
 * TCP on its own (another flag, other options or window, a short segment
 * other than the last) ends a run. The merged frame is a whole valid frame,
 * its IPv4 and TCP checksums computed anew. The rules are core's
 * `coalesceTcpFrames`, which the tests compare with this.
 *
 * Merged frames are written into an area the caller gives, one record each:
 * the frame's length and the merged segments' size (two 32-bit words, host
 * order), then the frame, padded to four bytes.
 */

#define VERDICT_CHECKED 1   /* the TCP checksum is right */
#define VERDICT_MERGED 2    /* checked, and the head of a merged frame: the area's next record */
#define VERDICT_ABSORBED 3  /* checked, and its payload is in the merged frame of an earlier slot */
#define RECORD_HEADER 8
#define MAX_IPV4_TOTAL 65535u
/* Room a record may take: a whole IPv4 datagram behind an Ethernet header, padded. */
#define MAX_RECORD (RECORD_HEADER + 14 + MAX_IPV4_TOTAL + 3)
#define TCP_ACK 0x10
#define TCP_PSH 0x08

static uint32_t read32(const uint8_t* p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static void write16(uint8_t* p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* What a mergeable frame is: an IPv4 datagram without options, a plain ACK or ACK+PSH segment with data. */
typedef struct {
  const uint8_t* frame;
  size_t tcp_header;    /* bytes of TCP header, options included */
  size_t payload;       /* bytes of data */
  uint64_t payload_sum; /* of the data, as sum_le_words gives it: a run's checksum is made of these */
  uint32_t seq;
  uint8_t flags;
} part_t;

/*
 * Sums the TCP checksum of a frame (1 when right, as tcp_checksum_ok) and, for
 * a frame that may take part in a run, fills `part`, its data's sum included:
 * header and data are summed apart, at an even offset, so the sum is the same.
 */
static int check_frame(const uint8_t* frame, size_t length, part_t* part, int* is_part) {
  size_t start, segment;
  *is_part = 0;
  if (!tcp_segment_of(frame, length, &start, &segment)) return 0;
  const uint8_t* tcp = frame + start;
  size_t header = (size_t)(tcp[12] >> 4) * 4;
  if (header < 20 || header >= segment) return fold(pseudo_header_sum(frame + 14, segment) + sum_le_words(tcp, segment)) == 0xffff;
  uint64_t data = sum_le_words(tcp + header, segment - header);
  int ok = fold(pseudo_header_sum(frame + 14, segment) + sum_le_words(tcp, header) + data) == 0xffff;
  uint8_t flags = tcp[13];
  /* No IPv4 options, and an IPv4 checksum the host would not drop it for. */
  if (!ok || start != 14 + 20 || fold(sum_le_words(frame + 14, 20)) != 0xffff) return ok;
  if (flags != TCP_ACK && flags != (TCP_ACK | TCP_PSH)) return ok;
  part->frame = frame;
  part->tcp_header = header;
  part->payload = segment - header;
  part->payload_sum = data;
  part->seq = read32(tcp + 4);
  part->flags = flags;
  *is_part = 1;
  return ok;
}

typedef struct {
  uint8_t* area;
  size_t capacity;
  size_t used;           /* end of the records finished */
  int open;              /* a run is open: `head` may take more */
  part_t head;
  uint8_t* head_verdict;
  int in_area;           /* the run has two parts or more, its record at `used` */
  size_t frame_length;   /* of the merged frame so far */
  uint64_t payload_sum;  /* of its data, each part's sum swapped where it starts at an odd offset */
  uint32_t next_seq;
  uint8_t last_flags;
} coalescer_t;

/* Whether `part` continues the open run: same flow and headers but for sequence number and PSH, in order. */
static int continues(const coalescer_t* c, const part_t* part) {
  const uint8_t* a = c->head.frame;
  const uint8_t* b = part->frame;
  size_t tcp = 14 + 20;
  if (c->last_flags != TCP_ACK || part->seq != c->next_seq || part->payload > c->head.payload) return 0;
  if (part->tcp_header != c->head.tcp_header) return 0;
  if (c->frame_length + part->payload > 14 + MAX_IPV4_TOTAL) return 0;
  if (memcmp(a, b, 14) != 0 || memcmp(a + 14, b + 14, 2) != 0 || memcmp(a + 14 + 6, b + 14 + 6, 4) != 0 ||
      memcmp(a + 14 + 12, b + 14 + 12, 8) != 0)
    return 0; /* Ethernet header; IPv4 version, TOS, fragment field, TTL, protocol, addresses */
  /* TCP ports, acknowledgment, header length, window, urgent pointer, options. */
  return memcmp(a + tcp, b + tcp, 4) == 0 && memcmp(a + tcp + 8, b + tcp + 8, 5) == 0 &&
         memcmp(a + tcp + 14, b + tcp + 14, 2) == 0 && memcmp(a + tcp + 18, b + tcp + 18, 2) == 0 &&
         memcmp(a + tcp + 20, b + tcp + 20, part->tcp_header - 20) == 0;
}

/* Ends the open run: a merged one gets its lengths, flags and checksums, and its record header. */
static void end_run(coalescer_t* c) {
  if (c->open && c->in_area) {
    uint8_t* record = c->area + c->used;
    uint8_t* frame = record + RECORD_HEADER;
    uint8_t* ip = frame + 14;
    uint8_t* tcp = ip + 20;
    size_t total = c->frame_length - 14;
    write16(ip + 2, (uint16_t)total);
    memset(ip + 10, 0, 2);
    uint16_t ip_checksum = (uint16_t)~fold(sum_le_words(ip, 20));
    memcpy(ip + 10, &ip_checksum, 2);
    tcp[13] = c->last_flags;
    memset(tcp + 16, 0, 2);
    size_t segment = total - 20;
    /* The data was summed part by part on its way in: only the header is summed again. */
    uint64_t sum = pseudo_header_sum(ip, segment) + sum_le_words(tcp, c->head.tcp_header) + c->payload_sum;
    uint16_t tcp_checksum = (uint16_t)~fold(sum);
    memcpy(tcp + 16, &tcp_checksum, 2);
    uint32_t words[2] = {(uint32_t)c->frame_length, (uint32_t)c->head.payload};
    memcpy(record, words, sizeof words);
    c->used += (RECORD_HEADER + c->frame_length + 3) & ~(size_t)3;
  }
  c->open = 0;
  c->in_area = 0;
}

/* Takes the next frame of the burst and gives its verdict; `verdict` is where it goes, for a head to become MERGED. */
static uint8_t coalesce(coalescer_t* c, const uint8_t* frame, size_t length, uint8_t* verdict) {
  part_t part;
  int is_part;
  int checksum_ok = check_frame(frame, length, &part, &is_part);
  if (!is_part) {
    end_run(c);
    return (uint8_t)checksum_ok;
  }
  if (c->open && continues(c, &part)) {
    if (!c->in_area) {
      /* The second part: the head moves into a record of its own. */
      c->in_area = 1;
      c->frame_length = 14 + 20 + c->head.tcp_header + c->head.payload;
      memcpy(c->area + c->used + RECORD_HEADER, c->head.frame, c->frame_length);
      *c->head_verdict = VERDICT_MERGED;
    }
    memcpy(c->area + c->used + RECORD_HEADER + c->frame_length, frame + 14 + 20 + part.tcp_header, part.payload);
    /* Data at an odd offset of the merged segment lies in the other half of each 16-bit word (RFC 1071 §2(B)). */
    size_t offset = c->frame_length - (14 + 20 + c->head.tcp_header);
    c->payload_sum += offset & 1 ? swap16(fold(part.payload_sum)) : part.payload_sum;
    c->frame_length += part.payload;
    c->next_seq = part.seq + (uint32_t)part.payload;
    c->last_flags = part.flags;
    /* A segment shorter than the others ends the run, as does PSH. */
    if (part.payload < c->head.payload) end_run(c);
    return VERDICT_ABSORBED;
  }
  end_run(c);
  c->open = 1;
  c->head = part;
  c->head_verdict = verdict;
  c->frame_length = 14 + 20 + part.tcp_header + part.payload;
  c->payload_sum = part.payload_sum;
  c->next_seq = part.seq + (uint32_t)part.payload;
  c->last_flags = part.flags;
  return VERDICT_CHECKED;
}

/* Room for one more record of the largest kind: a run may grow to that before it ends. */
static int room_for_a_run(const coalescer_t* c) { return c->capacity - c->used >= MAX_RECORD; }

/* The area argument of checkBurst or coalesceFrames: a Uint8Array, or undefined for none. */
static int area_argument(napi_env env, napi_value value, uint8_t** area, size_t* capacity) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type == napi_undefined) {
    *area = NULL;
    *capacity = 0;
    return 1;
  }
  bool is_array = false;
  napi_typedarray_type kind;
  void* data = NULL;
  if (napi_is_typedarray(env, value, &is_array) != napi_ok || !is_array ||
      napi_get_typedarray_info(env, value, &kind, capacity, &data, NULL, NULL) != napi_ok || kind != napi_uint8_array ||
      ((uintptr_t)data & 3) != 0)
    return 0;
  *area = data;
  return 1;
}

/* ---- the receive ring's checksums ---- */

/*
 * checkBurst(handle, first, limit, area?) -> count
 * Walks the receive slots from `first` (wrapping) while the kernel has handed
 * them to us, at most `limit`, and writes each one's verdict into its header
 * (1: TCP checksum right). With an `area`, runs of segments are merged into it
 * (see receive coalescing; verdict 2), and the walk ends while it still has
 * room for a run. The slots a run absorbed go back to the kernel, counted on
 * its head (SLOT_ABSORBED); every other slot of the `count` walked carries a
 * fresh verdict.
 */
static napi_value check_burst(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  void* data = NULL;
  uint32_t first, limit;
  coalescer_t c = {0};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL ||
      napi_get_value_uint32(env, argv[1], &first) != napi_ok || napi_get_value_uint32(env, argv[2], &limit) != napi_ok) {
    napi_throw_type_error(env, NULL, "checkBurst(handle, first, limit, area?)");
    return NULL;
  }
  if (argc >= 4 && !area_argument(env, argv[3], &c.area, &c.capacity)) {
    napi_throw_type_error(env, NULL, "checkBurst: the area is a Uint8Array aligned to four bytes");
    return NULL;
  }
  ring_t* ring = data;
  uint32_t count = 0;
  if (!ring->closed && first < ring->rx_frame_count) {
    if (limit > ring->rx_frame_count) limit = ring->rx_frame_count;
    for (uint32_t slot = first; count < limit; count++) {
      if (c.area != NULL && !room_for_a_run(&c)) break;
      uint8_t* header = rx_slot(ring, slot);
      uint32_t status = __atomic_load_n((uint32_t*)(header + SLOT_STATUS), __ATOMIC_ACQUIRE);
      if ((status & TP_STATUS_USER) == 0) break;
      uint32_t snap;
      uint16_t mac;
      memcpy(&snap, header + SLOT_SNAPLEN, 4);
      memcpy(&mac, header + SLOT_MAC, 2);
      int fits = mac + (size_t)snap <= ring->rx_frame_size;
      /* Frames the kernel sent itself are not ours to merge. */
      int incoming = header[SLOT_PACKET_TYPE] != PACKET_OUTGOING;
      uint8_t verdict;
      if (c.area != NULL && fits && incoming) {
        verdict = coalesce(&c, header + mac, snap, header + SLOT_VERDICT);
      } else {
        if (c.area != NULL) end_run(&c);
        verdict = (uint8_t)(fits && tcp_checksum_ok(header + mac, snap));
      }
      if (verdict == VERDICT_ABSORBED) {
        /* The run's head is the slot whose verdict coalesce keeps (see SLOT_ABSORBED). */
        uint8_t* head = c.head_verdict - SLOT_VERDICT;
        uint16_t absorbed;
        memcpy(&absorbed, head + SLOT_ABSORBED, 2);
        absorbed++;
        memcpy(head + SLOT_ABSORBED, &absorbed, 2);
        __atomic_store_n((uint32_t*)(header + SLOT_STATUS), TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      } else {
        header[SLOT_VERDICT] = verdict;
        memset(header + SLOT_ABSORBED, 0, 2);
      }
      slot = next_slot(slot, ring->rx_frame_count);
    }
    end_run(&c);
  }
  napi_value result;
  CHECK(napi_create_uint32(env, count, &result));
  return result;
}

/* The bytes of a call's only argument, a Uint8Array; throws (naming `usage`) and gives NULL otherwise. */
static uint8_t* bytes_argument(napi_env env, napi_callback_info info, size_t* length, const char* usage) {
  size_t argc = 1;
  napi_value argv[1];
  bool is_array = false;
  napi_typedarray_type type;
  void* data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_is_typedarray(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_typedarray_info(env, argv[0], &type, length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  /* An empty array may have no data at all: give it a harmless address. */
  static uint8_t empty;
  return data == NULL ? &empty : data;
}

/* tcpChecksumOk(frame: Uint8Array) -> boolean: the verdict checkBurst gives a frame, for tests. */
static napi_value tcp_checksum_ok_js(napi_env env, napi_callback_info info) {
  size_t length = 0;
  uint8_t* frame = bytes_argument(env, info, &length, "tcpChecksumOk(frame: Uint8Array)");
  if (frame == NULL) return NULL;
  napi_value result;
  CHECK(napi_get_boolean(env, tcp_checksum_ok(frame, length), &result));
  return result;
}

/* finishTcpChecksum(frame: Uint8Array): what flush does to a frame in a transmit slot, for tests. */
static napi_value finish_tcp_checksum_js(napi_env env, napi_callback_info info) {
  size_t length = 0;
  uint8_t* frame = bytes_argument(env, info, &length, "finishTcpChecksum(frame: Uint8Array)");
  if (frame == NULL) return NULL;
  finish_tcp_checksum(frame, length);
  return NULL;
}

/*
 * coalesceFrames(frames: Uint8Array[], area: Uint8Array) -> Uint8Array
 * What checkBurst does to a burst of these frames, for tests: their verdicts,
 * and the merged frames' records in `area`.
 */
static napi_value coalesce_frames_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  const char* usage = "coalesceFrames(frames: Uint8Array[], area: Uint8Array)";
  coalescer_t c = {0};
  bool is_array = false;
  uint32_t count = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &count) != napi_ok || !area_argument(env, argv[1], &c.area, &c.capacity) ||
      c.area == NULL) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  napi_value verdicts_buffer, verdicts;
  uint8_t* out = NULL;
  CHECK(napi_create_arraybuffer(env, count, (void**)&out, &verdicts_buffer));
  CHECK(napi_create_typedarray(env, napi_uint8_array, count, verdicts_buffer, 0, &verdicts));
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    napi_typedarray_type kind;
    size_t length = 0;
    void* data = NULL;
    if (napi_get_element(env, argv[0], i, &element) != napi_ok || napi_is_typedarray(env, element, &is_array) != napi_ok ||
        !is_array || napi_get_typedarray_info(env, element, &kind, &length, &data, NULL, NULL) != napi_ok ||
        kind != napi_uint8_array) {
      napi_throw_type_error(env, NULL, usage);
      return NULL;
    }
    if (!room_for_a_run(&c)) {
      napi_throw_range_error(env, NULL, "coalesceFrames: the area is full");
      return NULL;
    }
    const uint8_t* frame = data == NULL ? (const uint8_t*)"" : data;
    out[i] = coalesce(&c, frame, length, out + i);
  }
  end_run(&c);
  return verdicts;
}

/* close(handle): stops watching and closes the socket; the mapping lives on until it is collected. */
static napi_value close_ring_js(napi_env env, napi_callback_info info) {
  ring_t* ring = ring_argument(env, info, NULL, 0);
  if (ring == NULL) return NULL;
  close_ring(ring);
  return NULL;
}

/* strerror for the codes flush() returns. */
static napi_value describe_error(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t code = 0;
  if (argc >= 1) napi_get_value_int32(env, argv[0], &code);
  napi_value result;
  CHECK(napi_create_string_utf8(env, strerror(code < 0 ? -code : code), NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"open", NULL, open_ring, NULL, NULL, NULL, napi_enumerable, NULL},
      {"start", NULL, start_ring, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flush", NULL, flush_ring, NULL, NULL, NULL, napi_enumerable, NULL},
      {"checkBurst", NULL, check_burst, NULL, NULL, NULL, napi_enumerable, NULL},
      {"waitForSlot", NULL, wait_for_slot, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpChecksumOk", NULL, tcp_checksum_ok_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"finishTcpChecksum", NULL, finish_tcp_checksum_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"coalesceFrames", NULL, coalesce_frames_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_ring_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"describeError", NULL, describe_error, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions));
  return exports;
}

NAPI_MODULE(packet_ring, init)
