/*
 * Example strategy in C: attaches to an ilinkd strategy segment, sends orders, reads events.
 *
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Iinclude examples/c/strategy.c -o strategy
 *   ./strategy /dev/shm/ilinkd-strategy-alpha 5 10   # send 5 orders (+4 more requests), read 10 events
 *   ./strategy --layout                              # print sizeof/offsetof of the C structs
 *
 * Requests sent: N limit orders on session 0 (security 1000+i, alternating buy/sell, qty i+1,
 * price 100+i), one invalid order (qty 0, which the daemon rejects), a cancel of the first
 * order, a replace of the second (qty +10, price +0.25), and a mass cancel of session 1.
 * Then it reads events, heartbeating, until it has read the number asked for or 10 s pass.
 * Exit status: 0 done, 1 usage/attach/send error, 3 timeout.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "ilinkd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define PRINT_SIZE(name, type) printf("%s %zu\n", name, sizeof(type))
#define PRINT_OFF(name, type, field) printf("%s %zu\n", name, offsetof(type, field))

static void print_layout(void) {
    PRINT_SIZE("header.size", ilkd_header);
    PRINT_OFF("header.magic", ilkd_header, magic);
    PRINT_OFF("header.abi_version", ilkd_header, abi_version);
    PRINT_OFF("header.header_len", ilkd_header, header_len);
    PRINT_OFF("header.request_record_size", ilkd_header, request_record_size);
    PRINT_OFF("header.event_record_size", ilkd_header, event_record_size);
    PRINT_OFF("header.request_capacity", ilkd_header, request_capacity);
    PRINT_OFF("header.event_capacity", ilkd_header, event_capacity);
    PRINT_OFF("header.request_ring_offset", ilkd_header, request_ring_offset);
    PRINT_OFF("header.event_ring_offset", ilkd_header, event_ring_offset);
    PRINT_OFF("header.total_len", ilkd_header, total_len);
    PRINT_OFF("header.session_count", ilkd_header, session_count);
    PRINT_OFF("header.daemon_pid", ilkd_header, daemon_pid);
    PRINT_OFF("header.daemon_heartbeat_ns", ilkd_header, daemon_heartbeat_ns);
    PRINT_OFF("header.state_flags", ilkd_header, state_flags);
    PRINT_OFF("header.strategy_heartbeat_ns", ilkd_header, strategy_heartbeat_ns);
    PRINT_OFF("header.strategy_pid", ilkd_header, strategy_pid);
    PRINT_OFF("header.name", ilkd_header, name);
    PRINT_SIZE("ring.size", ilkd_ring_indices);
    PRINT_OFF("ring.producer", ilkd_ring_indices, producer);
    PRINT_OFF("ring.consumer", ilkd_ring_indices, consumer);
    PRINT_SIZE("request.size", ilkd_request);
    PRINT_OFF("request.kind", ilkd_request, kind);
    PRINT_OFF("request.side", ilkd_request, side);
    PRINT_OFF("request.ord_type", ilkd_request, ord_type);
    PRINT_OFF("request.tif", ilkd_request, tif);
    PRINT_OFF("request.session", ilkd_request, session);
    PRINT_OFF("request.expire_date", ilkd_request, expire_date);
    PRINT_OFF("request.mass_scope", ilkd_request, mass_scope);
    PRINT_OFF("request.mass_tif_filter", ilkd_request, mass_tif_filter);
    PRINT_OFF("request.request_id", ilkd_request, request_id);
    PRINT_OFF("request.order_id", ilkd_request, order_id);
    PRINT_OFF("request.security_id", ilkd_request, security_id);
    PRINT_OFF("request.qty", ilkd_request, qty);
    PRINT_OFF("request.price", ilkd_request, price);
    PRINT_OFF("request.enqueue_ns", ilkd_request, enqueue_ns);
    PRINT_OFF("request.stop_px", ilkd_request, stop_px);
    PRINT_OFF("request.min_qty", ilkd_request, min_qty);
    PRINT_OFF("request.display_qty", ilkd_request, display_qty);
    PRINT_SIZE("event.size", ilkd_event);
    PRINT_OFF("event.kind", ilkd_event, kind);
    PRINT_OFF("event.side", ilkd_event, side);
    PRINT_OFF("event.session_state", ilkd_event, session_state);
    PRINT_OFF("event.restatement", ilkd_event, restatement);
    PRINT_OFF("event.session", ilkd_event, session);
    PRINT_OFF("event.reason", ilkd_event, reason);
    PRINT_OFF("event.request_id", ilkd_event, request_id);
    PRINT_OFF("event.order_id", ilkd_event, order_id);
    PRINT_OFF("event.security_id", ilkd_event, security_id);
    PRINT_OFF("event.qty", ilkd_event, qty);
    PRINT_OFF("event.price", ilkd_event, price);
    PRINT_OFF("event.exchange_order_id", ilkd_event, exchange_order_id);
    PRINT_OFF("event.last_px", ilkd_event, last_px);
    PRINT_OFF("event.last_qty", ilkd_event, last_qty);
    PRINT_OFF("event.leaves_qty", ilkd_event, leaves_qty);
    PRINT_OFF("event.cum_qty", ilkd_event, cum_qty);
    PRINT_OFF("event.count", ilkd_event, count);
    PRINT_OFF("event.exchange_ns", ilkd_event, exchange_ns);
    PRINT_OFF("event.daemon_ns", ilkd_event, daemon_ns);
    PRINT_OFF("event.request_enqueue_ns", ilkd_event, request_enqueue_ns);
    PRINT_OFF("event.text", ilkd_event, text);
    printf("code.abi_version %u\n", ILKD_ABI_VERSION);
    printf("code.req_order_status %d\n", ILKD_REQ_ORDER_STATUS);
    printf("code.ev_status %d\n", ILKD_EV_STATUS);
    printf("code.ev_recovered %d\n", ILKD_EV_RECOVERED);
}

/* Retries a send while the ring is full (the daemon drains it). */
#define SEND(call)                                                                     \
    do {                                                                               \
        int rc_;                                                                       \
        while ((rc_ = (call)) == ILKD_EFULL) {                                         \
            struct timespec ts_ = {0, 50000};                                          \
            nanosleep(&ts_, NULL);                                                     \
        }                                                                              \
        if (rc_ != ILKD_OK) {                                                          \
            fprintf(stderr, "send failed: %s\n", ilkd_strerror(rc_));                  \
            ilkd_detach(&c);                                                           \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--layout") == 0) {
        print_layout();
        return 0;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: %s SEGMENT N_ORDERS N_EVENTS | %s --layout\n", argv[0], argv[0]);
        return 1;
    }
    long n_orders = strtol(argv[2], NULL, 10);
    long n_events = strtol(argv[3], NULL, 10);
    if (n_orders < 2 || n_events < 0) {
        fprintf(stderr, "need N_ORDERS >= 2 and N_EVENTS >= 0\n");
        return 1;
    }
    ilkd_client c;
    int rc = ilkd_attach(&c, argv[1]);
    if (rc != ILKD_OK) {
        fprintf(stderr, "attach %s: %s%s%s\n", argv[1], ilkd_strerror(rc),
                rc == ILKD_EIO ? ": " : "", rc == ILKD_EIO ? strerror(errno) : "");
        return 1;
    }
    printf("attached name=%.64s sessions=%u daemon_pid=%u\n", c.hdr->name, c.hdr->session_count,
           c.hdr->daemon_pid);
    ilkd_heartbeat(&c, ilkd_now_ns());

    uint64_t first = 0, second = 0, id = 0;
    for (long i = 0; i < n_orders; i++) {
        SEND(ilkd_new_order(&c, 0, (int32_t)(1000 + i), i % 2 == 0 ? ILKD_SIDE_BUY : ILKD_SIDE_SELL,
                            (uint32_t)(i + 1), (int64_t)(100 + i) * 1000000000LL, ILKD_ORD_LIMIT,
                            ILKD_TIF_DAY, &id));
        if (i == 0) first = id;
        if (i == 1) second = id;
        printf("sent new_order id=%" PRIu64 "\n", id);
    }
    SEND(ilkd_new_order(&c, 0, 1000, ILKD_SIDE_BUY, 0, 100000000000LL, ILKD_ORD_LIMIT,
                        ILKD_TIF_DAY, &id));
    printf("sent invalid_order id=%" PRIu64 "\n", id);
    SEND(ilkd_cancel(&c, 0, first, &id));
    printf("sent cancel id=%" PRIu64 " order_id=%" PRIu64 "\n", id, first);
    SEND(ilkd_replace(&c, second, 0, 1001, ILKD_SIDE_SELL, 12, 101250000000LL, ILKD_ORD_LIMIT,
                      ILKD_TIF_DAY, &id));
    printf("sent replace id=%" PRIu64 " order_id=%" PRIu64 "\n", id, second);
    SEND(ilkd_mass_cancel(&c, 1, 0, 0, &id));
    printf("sent mass_cancel id=%" PRIu64 "\n", id);
    fflush(stdout);

    long got = 0;
    uint64_t deadline = ilkd_now_ns() + 10ull * 1000000000ull;
    uint64_t next_hb = 0;
    while (got < n_events) {
        ilkd_event e;
        int r = ilkd_poll_event(&c, &e);
        if (r < 0) {
            fprintf(stderr, "poll: %s\n", ilkd_strerror(r));
            ilkd_detach(&c);
            return 1;
        }
        uint64_t now = ilkd_now_ns();
        if (now >= next_hb) {
            ilkd_heartbeat(&c, now);
            next_hb = now + 10000000ull;
        }
        if (r == 0) {
            if (now > deadline) {
                fprintf(stderr, "timeout: %ld of %ld events\n", got, n_events);
                ilkd_detach(&c);
                return 3;
            }
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
            continue;
        }
        got++;
        printf("event kind=%u request_id=%" PRIu64 " order_id=%" PRIu64 " reason=%u"
               " exchange_order_id=%" PRIu64 " last_qty=%u last_px=%" PRId64 " count=%u"
               " request_enqueue_ns=%" PRIu64 " text=%.*s\n",
               e.kind, e.request_id, e.order_id, e.reason, e.exchange_order_id, e.last_qty,
               e.last_px, e.count, e.request_enqueue_ns, ILKD_TEXT_LEN, e.text);
    }
    ilkd_detach(&c);
    printf("done events=%ld\n", got);
    return 0;
}
