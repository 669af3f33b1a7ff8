/*
 * agent/slot_reader.h
 *     The replication-protocol side of change data capture: one logical
 *     replication connection (replication=database) to the source, which
 *     creates a pgoutput slot with an exported snapshot, streams it with
 *     START_REPLICATION, hands out one pgoutput message at a time, and
 *     answers the server's keepalives with standby status updates.
 *
 * Persist, then acknowledge: the only position ever reported to the server
 * as written, flushed and applied is the one the caller set with
 * slot_reader_confirm(), i.e. what the target has committed. A crash can
 * therefore replay changes, never lose them.
 *
 * Failures come back as allocated strings (free() them), naming the slot
 * and, once streaming, the LSN; nothing here logs.
 *
 * Memory: one message at a time. The data handed out by slot_reader_next()
 * is valid until the next call on the same slot_reader_t.
 *
 * One slot_reader_t per thread; it owns its connection.
 */
#ifndef PGCONVOY_SLOT_READER_H
#define PGCONVOY_SLOT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgconvoy.pb-c.h"

typedef struct slot_reader_t slot_reader_t;

/*
 * Connects to ep (its database) as a logical replication connection
 * (replication=database, application_name=pgconvoy-cdc; the password goes
 * to libpq as a parameter). slot and publication are copied. Returns NULL
 * with *error set on failure.
 */
slot_reader_t *slot_reader_new(const Pgconvoy__Endpoint *ep, const char *slot,
                               const char *publication, char **error);

/* Ends the COPY if streaming, closes the connection. NULL-safe; nulls the
 * caller's pointer. Does not drop the slot. */
void slot_reader_destroy(slot_reader_t **self_p);

/*
 * CREATE_REPLICATION_SLOT "slot" LOGICAL pgoutput (SNAPSHOT 'export'), or
 * EXPORT_SNAPSHOT on a server older than 15.
 * On success *snapshot_out is the exported snapshot's name (free() it) and
 * *consistent_lsn the slot's consistent point: a full copy made under the
 * snapshot, then the stream from that LSN, meet exactly. The snapshot stays
 * importable (SET TRANSACTION SNAPSHOT on another connection) only until
 * the next command on this connection, slot_reader_start() included: copy
 * first, then start. Returns 0, or -1 with *error set.
 */
int slot_reader_create_slot(slot_reader_t *self, char **snapshot_out,
                            uint64_t *consistent_lsn, char **error);

/*
 * START_REPLICATION SLOT "slot" LOGICAL start_lsn (proto_version '1',
 * publication_names 'publication', messages 'true' from PostgreSQL 14 on:
 * see slot_reader_has_messages()). The server sends transactions that
 * commit after max(start_lsn, the slot's confirmed position). Returns 0, or
 * -1 with *error set.
 */
int slot_reader_start(slot_reader_t *self, uint64_t start_lsn, char **error);

/*
 * Waits up to timeout_ms (negative: no limit) for the next pgoutput
 * message, answering keepalives meanwhile, and sending a status update
 * when the server asks for one, every 10 s anyway, and after a confirm once
 * 1 s has passed since the last one. Returns 1 with *data and *len set to
 * one message (the payload of an XLogData message, from its type byte on;
 * borrowed until the next call) and *wal_start to its WAL position; 0 on
 * timeout; -1 with *error set on failure (lost connection, the server
 * ending the stream, a malformed message).
 */
int slot_reader_next(slot_reader_t *self, int timeout_ms, const char **data,
                     size_t *len, uint64_t *wal_start, char **error);

/*
 * Records that the target has committed everything up to lsn (a Commit's
 * end_lsn), to be reported to the server as flushed with the next status
 * update; sent at once if the last update is more than 1 s old. Never moves
 * back. If that send fails, the next slot_reader_next() reports why.
 */
void slot_reader_confirm(slot_reader_t *self, uint64_t lsn);

/* Before streaming: checks, without waiting or sending anything, that
 * the connection (and the snapshot it holds) is still there. Returns 0, or
 * -1 with *error set. */
int slot_reader_check(slot_reader_t *self, char **error);

/* The last position confirmed with slot_reader_confirm(), 0 if none. */
uint64_t slot_reader_confirmed_lsn(const slot_reader_t *self);

/*
 * The end of the WAL the server says it has decoded and sent, from its
 * latest keepalive (0 before the first). Every transaction committed
 * before it has been handed out: once slot_reader_next() returned 0 with
 * no transaction open and all of them committed on the target, the caller
 * may confirm it, which lets the slot move past WAL that holds nothing
 * published (pg_recvlogical does the same).
 */
uint64_t slot_reader_received_lsn(const slot_reader_t *self);

/*
 * Whether the stream carries logical decoding messages
 * (pg_logical_emit_message): pgoutput sends them from PostgreSQL 14 on.
 * Without them, an end point is an LSN: see slot_reader_ask_position().
 */
bool slot_reader_has_messages(const slot_reader_t *self);

/*
 * Asks the server for a keepalive now (a status update with "reply
 * requested"). Its position, slot_reader_received_lsn() once read, is
 * where the server has decoded and sent up to: every transaction that
 * committed before it is in the stream ahead of the keepalive. Returns 0,
 * or -1 with *error set.
 */
int slot_reader_ask_position(slot_reader_t *self, char **error);

/* Whether the last failure is worth another try: a lost connection or a
 * server shutting down, or a slot still held by a walsender about to go;
 * not a slot that does not exist. */
bool slot_reader_error_is_transient(const slot_reader_t *self);

#endif
