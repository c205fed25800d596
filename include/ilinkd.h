/*
 * ilinkd.h: C client for the ilinkd strategy segment (shared-memory order interface).
 *
 * Mirrors src/shm/strategy.rs and src/shm/records.rs byte for byte (ABI version 2, native
 * endianness, x86-64 / aarch64 Linux). A segment is a file (by default
 * /dev/shm/ilinkd-strategy-<name>) created by the daemon:
 *
 *   offset 0                 ilkd_header (256 bytes)
 *   offset 256               request ring: ilkd_ring_indices (128 bytes) then
 *                            request_capacity x ilkd_request (64 bytes)
 *   header.event_ring_offset event ring:   ilkd_ring_indices (128 bytes) then
 *                            event_capacity x ilkd_event (128 bytes)
 *
 * Each ring is single-producer single-consumer: indices count records since creation and
 * record i lives in slot i % capacity. The producer writes the record, then stores its index
 * with memory_order_release; the consumer loads it with memory_order_acquire, copies the
 * record, then stores its own index with memory_order_release (loaded with acquire by the
 * producer before reusing a slot). Each side caches the other's index and re-reads it only
 * when the ring looks full (producer) or empty (consumer).
 *
 * Request ring sequence word (ABI 2): a request's request_id is its ring index + 1
 * (ilkd_next_request_id) and the producer stores it last, with memory_order_release, before
 * the producer index (ilkd_send_raw does). The daemon takes a request as soon as its slot's
 * request_id says index + 1, without waiting for the index line, and zeroes that word before
 * releasing the slot; a request with another request_id is taken once the producer index
 * covers it. The daemon stores its request consumer index every 64 requests and whenever it
 * finds the ring empty (ILKD_EFULL may last up to 63 requests longer than the ring is full).
 *
 * The strategy produces requests and consumes events. Unused fields and reserved bytes must
 * be zero (the daemon rejects the record otherwise); prices are int64 mantissas with exponent
 * -9, ILKD_PRICE_NULL for "no price" (market orders). Timestamps are CLOCK_REALTIME ns.
 *
 * Needs POSIX: compile with -D_POSIX_C_SOURCE=200809L (or define it before any #include), C11.
 * Not thread-safe: one ilkd_client per thread, one attached client per segment.
 */
#ifndef ILINKD_H
#define ILINKD_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "ILKDSTRT" read as a little-endian uint64. */
#define ILKD_MAGIC 0x54525453444B4C49ULL
#define ILKD_ABI_VERSION 2u
#define ILKD_HEADER_LEN 256u
#define ILKD_RING_INDEX_LEN 128u
#define ILKD_REQUEST_SIZE 64u
#define ILKD_EVENT_SIZE 128u
#define ILKD_MIN_RING_CAPACITY 2u
#define ILKD_MAX_RING_CAPACITY (1u << 20)
#define ILKD_PRICE_NULL INT64_MAX
#define ILKD_TEXT_LEN 32

/* header.state_flags */
#define ILKD_FLAG_READY 1u
#define ILKD_FLAG_FAULTED 2u /* the daemon found the request ring corrupt, stopped reading */
#define ILKD_FLAG_CLOSED 4u  /* the daemon closed the segment */

/* Request kinds */
#define ILKD_REQ_NEW_ORDER 1
#define ILKD_REQ_CANCEL 2
#define ILKD_REQ_REPLACE 3
#define ILKD_REQ_MASS_CANCEL 4
#define ILKD_REQ_ORDER_STATUS 5 /* OrderStatusRequest (533): answered by ILKD_EV_STATUS */

/* Event kinds */
#define ILKD_EV_ACK 1
#define ILKD_EV_REJECT 2
#define ILKD_EV_FILL 3
#define ILKD_EV_CANCELLED 4
#define ILKD_EV_REPLACED 5
#define ILKD_EV_CANCEL_REJECT 6
#define ILKD_EV_SESSION_STATE 7
#define ILKD_EV_NOT_APPLIED 8
#define ILKD_EV_MASS_CANCEL_ACK 9
#define ILKD_EV_MESSAGES_LOST 10 /* exchange messages given up on `session`: `count` */
#define ILKD_EV_ELIMINATED 11      /* remainder eliminated (FAK/FOK, expiry): order finished */
#define ILKD_EV_TRADE_BUST 12      /* fill busted: last_px/last_qty, count = SideTradeID */
#define ILKD_EV_TRADE_CORRECTED 13 /* fill corrected: new last_px/last_qty */
#define ILKD_EV_LEG_FILL 14        /* spread leg fill: leg security_id/side/last_px/last_qty */
#define ILKD_EV_STATUS 15          /* order status: restatement = OrdStatus */
#define ILKD_EV_PENDING_CANCEL 16
#define ILKD_EV_PENDING_REPLACE 17
#define ILKD_EV_RECOVERED 18 /* open order from before a daemon restart */

#define ILKD_SIDE_BUY 1
#define ILKD_SIDE_SELL 2
#define ILKD_ORD_MARKET 1       /* market with protection */
#define ILKD_ORD_LIMIT 2
#define ILKD_ORD_STOP 3         /* stop with protection: stop_px, no price */
#define ILKD_ORD_STOP_LIMIT 4   /* stop_px and price */
#define ILKD_ORD_MARKET_LIMIT 5 /* CME 'K' */
#define ILKD_TIF_DAY 0
#define ILKD_TIF_GTC 1
#define ILKD_TIF_FAK 3
#define ILKD_TIF_FOK 4 /* sent as FAK with MinQty = qty */
#define ILKD_TIF_GTD 6 /* needs expire_date */
/* Mass cancel scopes (request.mass_scope) */
#define ILKD_SCOPE_DEFAULT 0
#define ILKD_SCOPE_INSTRUMENT 1
#define ILKD_SCOPE_MARKET_SEGMENT 9
#define ILKD_SCOPE_INSTRUMENT_GROUP 10
#define ILKD_SESSION_DOWN 0
#define ILKD_SESSION_CONNECTING 1
#define ILKD_SESSION_UP 2

/* Reject reasons (ilkd_event.reason) */
#define ILKD_REASON_MALFORMED 1
#define ILKD_REASON_INVALID_SIDE 2
#define ILKD_REASON_INVALID_QUANTITY 3
#define ILKD_REASON_INVALID_PRICE 4
#define ILKD_REASON_PRICE_NOT_ON_TICK 5
#define ILKD_REASON_UNKNOWN_INSTRUMENT 6
#define ILKD_REASON_UNKNOWN_SESSION 7
#define ILKD_REASON_SESSION_DOWN 8
#define ILKD_REASON_UNKNOWN_ORDER 9
#define ILKD_REASON_DUPLICATE_ORDER_ID 10
#define ILKD_REASON_RISK_LIMIT 11
#define ILKD_REASON_THROTTLED 12
#define ILKD_REASON_EXCHANGE 13
#define ILKD_REASON_INVALID_ORDER_TYPE 14
#define ILKD_REASON_INVALID_TIME_IN_FORCE 15
#define ILKD_REASON_SHUTTING_DOWN 16
#define ILKD_REASON_MESSAGING_CONTROL 17
#define ILKD_REASON_INVALID_COMBINATION 18
#define ILKD_REASON_KILL_SWITCH 19
#define ILKD_REASON_PARTY_NOT_REGISTERED 20 /* party details not accepted by CME (519) */

/* Return codes (negative) */
#define ILKD_OK 0
#define ILKD_EIO (-1)      /* system call failed; see errno */
#define ILKD_EMAGIC (-2)   /* not an ilinkd strategy segment */
#define ILKD_EABI (-3)     /* different ABI version */
#define ILKD_ELAYOUT (-4)  /* record sizes / geometry / file length do not match */
#define ILKD_EINUSE (-5)   /* another live process is attached */
#define ILKD_ECLOSED (-6)  /* the daemon closed the segment */
#define ILKD_ECORRUPT (-7) /* impossible ring indices */
#define ILKD_EFULL (-8)    /* request ring full: retry later */
#define ILKD_EFAULTED (-9) /* the daemon faulted the segment */

typedef struct ilkd_header {
    uint64_t magic;                       /*   0 */
    uint32_t abi_version;                 /*   8 */
    uint32_t header_len;                  /*  12 */
    uint32_t request_record_size;         /*  16 */
    uint32_t event_record_size;           /*  20 */
    uint32_t request_capacity;            /*  24 */
    uint32_t event_capacity;              /*  28 */
    uint64_t request_ring_offset;         /*  32 */
    uint64_t event_ring_offset;           /*  40 */
    uint64_t total_len;                   /*  48 */
    uint32_t session_count;               /*  56 */
    uint32_t daemon_pid;                  /*  60 */
    _Atomic uint64_t daemon_heartbeat_ns; /*  64, daemon's clock */
    _Atomic uint32_t state_flags;         /*  72 */
    uint32_t reserved1[13];               /*  76 */
    _Atomic uint64_t strategy_heartbeat_ns; /* 128, written by the strategy */
    _Atomic uint32_t strategy_pid;        /* 136, claimed by compare-and-swap */
    uint32_t reserved2[13];               /* 140 */
    char name[64];                        /* 192, NUL-padded */
} ilkd_header;

typedef struct ilkd_ring_indices {
    _Alignas(64) _Atomic uint64_t producer; /* 0 */
    _Alignas(64) _Atomic uint64_t consumer; /* 64 */
} ilkd_ring_indices;

typedef struct ilkd_request {
    uint8_t kind;         /*  0 ILKD_REQ_* */
    uint8_t side;         /*  1 ILKD_SIDE_* (0: none / both for mass cancel) */
    uint8_t ord_type;     /*  2 ILKD_ORD_* (0 when unused) */
    uint8_t tif;          /*  3 ILKD_TIF_* */
    uint16_t session;     /*  4 index into the strategy's sessions */
    union {
        uint16_t expire_date; /*  6 GTD: days since 1970-01-01 (new order, replace) */
        struct {
            uint8_t mass_scope;      /* 6 mass cancel: ILKD_SCOPE_* */
            uint8_t mass_tif_filter; /* 7 mass cancel: 1 = tif is a filter */
        };
    };
    uint64_t request_id;  /*  8 ring index + 1 (sequence word, stored last); a new order's
                           *    request id is its client order id */
    uint64_t order_id;    /* 16 target order (cancel, replace), else 0 */
    int32_t security_id;  /* 24 (0 for mass cancel: all instruments) */
    uint32_t qty;         /* 28 */
    int64_t price;        /* 32 mantissa, exponent -9; ILKD_PRICE_NULL for market orders */
    uint64_t enqueue_ns;  /* 40 CLOCK_REALTIME when enqueued */
    int64_t stop_px;      /* 48 stop / stop-limit; ILKD_PRICE_NULL or 0 otherwise */
    uint32_t min_qty;     /* 56 FAK only; 0: none */
    uint32_t display_qty; /* 60 0: whole quantity */
} ilkd_request;

typedef struct ilkd_event {
    uint8_t kind;               /*   0 ILKD_EV_* */
    uint8_t side;               /*   1 */
    uint8_t session_state;      /*   2 ILKD_SESSION_* */
    uint8_t restatement;        /*   3 CME ExecRestatementReason (cancel, elimination);
                                 *     OrdStatus for ILKD_EV_STATUS */
    uint16_t session;           /*   4 */
    uint16_t reason;            /*   6 ILKD_REASON_* (0: none) */
    uint64_t request_id;        /*   8 request answered (0: unsolicited) */
    uint64_t order_id;          /*  16 client order id */
    int32_t security_id;        /*  24 */
    uint32_t qty;               /*  28 */
    int64_t price;              /*  32 */
    uint64_t exchange_order_id; /*  40 */
    int64_t last_px;            /*  48 fill price */
    uint32_t last_qty;          /*  56 fill qty */
    uint32_t leaves_qty;        /*  60 */
    uint32_t cum_qty;           /*  64 */
    uint32_t count;             /*  68 orders affected by a mass cancel */
    uint64_t exchange_ns;       /*  72 */
    uint64_t daemon_ns;         /*  80 */
    uint64_t request_enqueue_ns; /* 88 echo of the request's enqueue_ns */
    char text[ILKD_TEXT_LEN];   /*  96 NUL-padded UTF-8 (not NUL-terminated when full) */
} ilkd_event;

_Static_assert(sizeof(ilkd_header) == ILKD_HEADER_LEN, "ilkd_header size");
_Static_assert(offsetof(ilkd_header, daemon_heartbeat_ns) == 64, "ilkd_header layout");
_Static_assert(offsetof(ilkd_header, strategy_heartbeat_ns) == 128, "ilkd_header layout");
_Static_assert(offsetof(ilkd_header, strategy_pid) == 136, "ilkd_header layout");
_Static_assert(offsetof(ilkd_header, name) == 192, "ilkd_header layout");
_Static_assert(sizeof(ilkd_ring_indices) == ILKD_RING_INDEX_LEN, "ilkd_ring_indices size");
_Static_assert(offsetof(ilkd_ring_indices, consumer) == 64, "ilkd_ring_indices layout");
_Static_assert(sizeof(ilkd_request) == ILKD_REQUEST_SIZE, "ilkd_request size");
_Static_assert(offsetof(ilkd_request, enqueue_ns) == 40, "ilkd_request layout");
_Static_assert(offsetof(ilkd_request, request_id) == 8 && offsetof(ilkd_request, order_id) == 16,
               "ilkd_request sequence word");
_Static_assert(sizeof(ilkd_event) == ILKD_EVENT_SIZE, "ilkd_event size");
_Static_assert(offsetof(ilkd_event, text) == 96, "ilkd_event layout");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4, "lock-free atomics");

typedef struct ilkd_client {
    uint8_t *base;
    size_t len;
    int fd;
    uint32_t pid;
    ilkd_header *hdr;
    ilkd_ring_indices *req_idx;
    ilkd_request *req_slots;
    uint64_t req_cap, req_head, req_cached_tail;
    ilkd_ring_indices *ev_idx;
    ilkd_event *ev_slots;
    uint64_t ev_cap, ev_tail, ev_cached_head;
} ilkd_client;

static inline const char *ilkd_strerror(int code) {
    switch (code) {
    case ILKD_OK: return "ok";
    case ILKD_EIO: return "system call failed (see errno)";
    case ILKD_EMAGIC: return "not an ilinkd strategy segment (bad magic)";
    case ILKD_EABI: return "ABI version mismatch: rebuild against the daemon's ilinkd.h";
    case ILKD_ELAYOUT: return "segment layout does not match this header";
    case ILKD_EINUSE: return "segment already attached by a live process";
    case ILKD_ECLOSED: return "segment closed by the daemon";
    case ILKD_ECORRUPT: return "ring indices corrupt";
    case ILKD_EFULL: return "request ring full";
    case ILKD_EFAULTED: return "segment faulted by the daemon";
    default: return "unknown error";
    }
}

/* CLOCK_REALTIME in nanoseconds (what the Rust client stamps too). */
static inline uint64_t ilkd_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int ilkd_pid_alive_(uint32_t pid) {
    return pid != 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static inline int ilkd_valid_capacity_(uint32_t c) {
    return c >= ILKD_MIN_RING_CAPACITY && c <= ILKD_MAX_RING_CAPACITY && (c & (c - 1)) == 0;
}

/* Maps the segment at `path`, checks its layout, and claims it for this process. */
static inline int ilkd_attach(ilkd_client *c, const char *path) {
    memset(c, 0, sizeof *c);
    c->fd = -1;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return ILKD_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return ILKD_EIO; }
    if ((uint64_t)st.st_size < ILKD_HEADER_LEN) { close(fd); return ILKD_ELAYOUT; }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { close(fd); return ILKD_EIO; }
    c->base = (uint8_t *)p;
    c->len = (size_t)st.st_size;
    c->fd = fd;
    ilkd_header *h = (ilkd_header *)p;
    c->hdr = h;
    int rc = ILKD_OK;
    uint64_t req_off = ILKD_HEADER_LEN;
    uint64_t ev_off = req_off + ILKD_RING_INDEX_LEN + (uint64_t)h->request_capacity * ILKD_REQUEST_SIZE;
    uint64_t total = ev_off + ILKD_RING_INDEX_LEN + (uint64_t)h->event_capacity * ILKD_EVENT_SIZE;
    uint32_t me = (uint32_t)getpid();
    uint32_t cur;
    if (h->magic != ILKD_MAGIC) { rc = ILKD_EMAGIC; goto fail; }
    if (h->abi_version != ILKD_ABI_VERSION) { rc = ILKD_EABI; goto fail; }
    if (h->header_len != ILKD_HEADER_LEN || h->request_record_size != ILKD_REQUEST_SIZE ||
        h->event_record_size != ILKD_EVENT_SIZE || !ilkd_valid_capacity_(h->request_capacity) ||
        !ilkd_valid_capacity_(h->event_capacity) || h->request_ring_offset != req_off ||
        h->event_ring_offset != ev_off || h->total_len != total || (uint64_t)st.st_size != total) {
        rc = ILKD_ELAYOUT;
        goto fail;
    }
    if (atomic_load_explicit(&h->state_flags, memory_order_acquire) & ILKD_FLAG_CLOSED) {
        rc = ILKD_ECLOSED;
        goto fail;
    }
    c->req_idx = (ilkd_ring_indices *)(c->base + req_off);
    c->req_slots = (ilkd_request *)(c->base + req_off + ILKD_RING_INDEX_LEN);
    c->req_cap = h->request_capacity;
    c->ev_idx = (ilkd_ring_indices *)(c->base + ev_off);
    c->ev_slots = (ilkd_event *)(c->base + ev_off + ILKD_RING_INDEX_LEN);
    c->ev_cap = h->event_capacity;
    /* Continue where a previous strategy instance stopped. */
    c->req_head = atomic_load_explicit(&c->req_idx->producer, memory_order_acquire);
    c->req_cached_tail = atomic_load_explicit(&c->req_idx->consumer, memory_order_acquire);
    c->ev_tail = atomic_load_explicit(&c->ev_idx->consumer, memory_order_acquire);
    c->ev_cached_head = c->ev_tail;
    if (c->req_head - c->req_cached_tail > c->req_cap ||
        atomic_load_explicit(&c->ev_idx->producer, memory_order_acquire) - c->ev_tail > c->ev_cap) {
        rc = ILKD_ECORRUPT;
        goto fail;
    }
    cur = atomic_load_explicit(&h->strategy_pid, memory_order_acquire);
    for (;;) {
        if (cur != 0 && (cur == me || ilkd_pid_alive_(cur))) { rc = ILKD_EINUSE; goto fail; }
        if (atomic_compare_exchange_strong_explicit(&h->strategy_pid, &cur, me,
                                                    memory_order_acq_rel, memory_order_acquire))
            break;
    }
    c->pid = me;
    return ILKD_OK;
fail:
    munmap(c->base, c->len);
    close(fd);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    return rc;
}

/* Releases the segment (the daemon then treats the strategy as gone) and unmaps it. */
static inline void ilkd_detach(ilkd_client *c) {
    if (!c->base) return;
    uint32_t me = c->pid;
    atomic_compare_exchange_strong_explicit(&c->hdr->strategy_pid, &me, 0, memory_order_acq_rel,
                                            memory_order_relaxed);
    munmap(c->base, c->len);
    close(c->fd);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Request id the next request gets (its ring index + 1). */
static inline uint64_t ilkd_next_request_id(const ilkd_client *c) { return c->req_head + 1; }

/* Enqueues a request record as is (request_id and enqueue_ns included; the daemon sees it
 * soonest when request_id is ilkd_next_request_id(c)). */
static inline int ilkd_send_raw(ilkd_client *c, const ilkd_request *r) {
    if (c->req_head - c->req_cached_tail >= c->req_cap) {
        c->req_cached_tail = atomic_load_explicit(&c->req_idx->consumer, memory_order_acquire);
        uint64_t used = c->req_head - c->req_cached_tail;
        if (used >= c->req_cap) {
            uint32_t flags = atomic_load_explicit(&c->hdr->state_flags, memory_order_acquire);
            if (flags & ILKD_FLAG_CLOSED) return ILKD_ECLOSED;
            if (flags & ILKD_FLAG_FAULTED) return ILKD_EFAULTED;
            return used > c->req_cap ? ILKD_ECORRUPT : ILKD_EFULL;
        }
    }
    ilkd_request *slot = &c->req_slots[c->req_head & (c->req_cap - 1)];
    /* Every byte but request_id, then request_id (the sequence word) with release. */
    memcpy(slot, r, offsetof(ilkd_request, request_id));
    memcpy((uint8_t *)slot + offsetof(ilkd_request, order_id),
           (const uint8_t *)r + offsetof(ilkd_request, order_id),
           sizeof *r - offsetof(ilkd_request, order_id));
    atomic_store_explicit((_Atomic uint64_t *)(void *)&slot->request_id, r->request_id,
                          memory_order_release);
    c->req_head += 1;
    atomic_store_explicit(&c->req_idx->producer, c->req_head, memory_order_release);
    return ILKD_OK;
}

static inline int ilkd_send_(ilkd_client *c, ilkd_request *r, uint64_t *id_out) {
    r->request_id = c->req_head + 1;
    r->enqueue_ns = ilkd_now_ns();
    int rc = ilkd_send_raw(c, r);
    if (rc == ILKD_OK && id_out) *id_out = r->request_id;
    return rc;
}

/* New order; *id_out gets its client order id (= request id). price: ILKD_PRICE_NULL for
 * market orders. */
static inline int ilkd_new_order(ilkd_client *c, uint16_t session, int32_t security_id,
                                 uint8_t side, uint32_t qty, int64_t price, uint8_t ord_type,
                                 uint8_t tif, uint64_t *id_out) {
    ilkd_request r;
    memset(&r, 0, sizeof r);
    r.kind = ILKD_REQ_NEW_ORDER;
    r.side = side;
    r.ord_type = ord_type;
    r.tif = tif;
    r.session = session;
    r.security_id = security_id;
    r.qty = qty;
    r.price = price;
    return ilkd_send_(c, &r, id_out);
}

static inline int ilkd_cancel(ilkd_client *c, uint16_t session, uint64_t order_id,
                              uint64_t *id_out) {
    ilkd_request r;
    memset(&r, 0, sizeof r);
    r.kind = ILKD_REQ_CANCEL;
    r.session = session;
    r.order_id = order_id;
    return ilkd_send_(c, &r, id_out);
}

/* Asks the exchange for the status of open order order_id (OrderStatusRequest 533); the
 * answer is an ILKD_EV_STATUS event echoing the request id (restatement = OrdStatus). */
static inline int ilkd_order_status(ilkd_client *c, uint16_t session, uint64_t order_id,
                                    uint64_t *id_out) {
    ilkd_request r;
    memset(&r, 0, sizeof r);
    r.kind = ILKD_REQ_ORDER_STATUS;
    r.session = session;
    r.order_id = order_id;
    return ilkd_send_(c, &r, id_out);
}

/* Replaces the terms of order_id (which keeps its client order id). */
static inline int ilkd_replace(ilkd_client *c, uint64_t order_id, uint16_t session,
                               int32_t security_id, uint8_t side, uint32_t qty, int64_t price,
                               uint8_t ord_type, uint8_t tif, uint64_t *id_out) {
    ilkd_request r;
    memset(&r, 0, sizeof r);
    r.kind = ILKD_REQ_REPLACE;
    r.side = side;
    r.ord_type = ord_type;
    r.tif = tif;
    r.session = session;
    r.order_id = order_id;
    r.security_id = security_id;
    r.qty = qty;
    r.price = price;
    return ilkd_send_(c, &r, id_out);
}

/* A new order with every qualifier: stop_px ILKD_PRICE_NULL when not a stop order, 0 for
 * min_qty / display_qty / expire_date when absent. */
static inline int ilkd_new_order_ex(ilkd_client *c, uint16_t session, int32_t security_id,
                                    uint8_t side, uint32_t qty, int64_t price, uint8_t ord_type,
                                    uint8_t tif, int64_t stop_px, uint32_t min_qty,
                                    uint32_t display_qty, uint16_t expire_date,
                                    uint64_t *id_out) {
    ilkd_request r;
    memset(&r, 0, sizeof r);
    r.kind = ILKD_REQ_NEW_ORDER;
    r.side = side;
    r.ord_type = ord_type;
    r.tif = tif;
    r.session = session;
    r.security_id = security_id;
    r.qty = qty;
    r.price = price;
    r.stop_px = stop_px;
    r.min_qty = min_qty;
    r.display_qty = display_qty;
    r.expire_date = expire_date;
    return ilkd_send_(c, &r, id_out);
}

/* Mass cancel by CME scope (ILKD_SCOPE_*; scopes other than DEFAULT need security_id), with
 * side (0: both), ord_type (0, ILKD_ORD_LIMIT, ILKD_ORD_STOP_LIMIT) and tif filters
 * (tif < 0: none; else ILKD_TIF_DAY, _GTC or _GTD). */
static inline int ilkd_mass_cancel_scoped(ilkd_client *c, uint16_t session, int32_t security_id,
                                          uint8_t scope, uint8_t side, uint8_t ord_type,
                                          int tif, uint64_t *id_out) {
    ilkd_request r;
    memset(&r, 0, sizeof r);
    r.kind = ILKD_REQ_MASS_CANCEL;
    r.session = session;
    r.security_id = security_id;
    r.side = side;
    r.mass_scope = scope;
    r.ord_type = ord_type;
    if (tif >= 0) {
        r.tif = (uint8_t)tif;
        r.mass_tif_filter = 1;
    }
    return ilkd_send_(c, &r, id_out);
}

/* security_id 0: all instruments; side 0: both sides. */
static inline int ilkd_mass_cancel(ilkd_client *c, uint16_t session, int32_t security_id,
                                   uint8_t side, uint64_t *id_out) {
    ilkd_request r;
    memset(&r, 0, sizeof r);
    r.kind = ILKD_REQ_MASS_CANCEL;
    r.session = session;
    r.security_id = security_id;
    r.side = side;
    return ilkd_send_(c, &r, id_out);
}

/* Copies the next event into *out: 1 if there was one, 0 if none, ILKD_ECORRUPT. */
static inline int ilkd_poll_event(ilkd_client *c, ilkd_event *out) {
    if (c->ev_tail == c->ev_cached_head) {
        c->ev_cached_head = atomic_load_explicit(&c->ev_idx->producer, memory_order_acquire);
        uint64_t avail = c->ev_cached_head - c->ev_tail;
        if (avail > c->ev_cap) {
            c->ev_cached_head = c->ev_tail;
            return ILKD_ECORRUPT;
        }
        if (avail == 0) return 0;
    }
    memcpy(out, &c->ev_slots[c->ev_tail & (c->ev_cap - 1)], sizeof *out);
    c->ev_tail += 1;
    atomic_store_explicit(&c->ev_idx->consumer, c->ev_tail, memory_order_release);
    return 1;
}

/* Stores the strategy heartbeat (any increasing value, by convention ilkd_now_ns()). */
static inline void ilkd_heartbeat(ilkd_client *c, uint64_t now_ns) {
    atomic_store_explicit(&c->hdr->strategy_heartbeat_ns, now_ns, memory_order_release);
}

static inline uint32_t ilkd_state_flags(const ilkd_client *c) {
    return atomic_load_explicit(&c->hdr->state_flags, memory_order_acquire);
}

static inline uint64_t ilkd_daemon_heartbeat_ns(const ilkd_client *c) {
    return atomic_load_explicit(&c->hdr->daemon_heartbeat_ns, memory_order_acquire);
}

#ifdef __cplusplus
}
#endif

#endif /* ILINKD_H */
