/* The record of the ticket images stored in the printer's NV graphics memory
 * (the static parts: center name, labels, service names), kept in a small
 * text file next to the kiosk because a printer can list its key codes but
 * not say what they hold.
 *
 * An image is known by the FNV-1a 64 hash of its bits as they go on the wire
 * (qms_raster_hash after qms_escpos_rt_safe), with its size: a new text, font,
 * size or paper width gives other bits, so another hash, and never matches a
 * stored image - the old image is not printed, the new one goes as raster
 * until `qms-printer store-nv` stores it.
 *
 * File (UTF-8 text, one image a line, '#' comments):
 *   qms-nv 1
 *   <kc1><kc2> <hash, 16 hex digits> <width dots> <rows> <what it is>
 * e.g. "Qa 1c6a8de3759cc4b5 392 20 center: Trung tâm ...". */
#ifndef QMS_PRINTER_NV_H
#define QMS_PRINTER_NV_H

#include <stddef.h>
#include <stdint.h>

typedef struct qms_nv_entry {
    uint8_t kc[2]; /* key code in the printer */
    uint64_t hash; /* qms_raster_hash of the bits as sent */
    int w, h;      /* width in dots (stride * 8) and rows */
    int present;   /* 1: the printer listed this key (set by the printer side) */
    char what[96]; /* for people: which text this is */
} qms_nv_entry;

typedef struct qms_nv_table {
    qms_nv_entry *e;
    int n, cap;
} qms_nv_table;

void qms_nv_init(qms_nv_table *t);
void qms_nv_free(qms_nv_table *t);

/* Parse the file's text into t (emptied first). QMS_ERR_INVAL with a
 * sentence naming the line in err for anything malformed, a key outside
 * the allowed characters, or a key or hash listed twice. */
int qms_nv_parse(const char *text, size_t len, qms_nv_table *t, char *err, size_t errlen);
/* Read a file; a file that does not exist is an empty table (QMS_OK, *missing
 * = 1 if missing is not NULL). QMS_ERR_IO when unreadable. */
int qms_nv_load(const char *path, qms_nv_table *t, int *missing, char *err, size_t errlen);
/* Write the file whole (a temporary then rename: never half a file). */
int qms_nv_save(const char *path, const qms_nv_table *t);

/* The entry holding this image, or NULL. With only_present, entries the
 * printer did not list do not count. */
const qms_nv_entry *qms_nv_find(const qms_nv_table *t, uint64_t hash, int w, int h,
                                int only_present);
qms_nv_entry *qms_nv_find_key(qms_nv_table *t, const uint8_t kc[2]);
/* Add an entry (copying what). QMS_ERR_INVAL if the key is taken. */
int qms_nv_add(qms_nv_table *t, const uint8_t kc[2], uint64_t hash, int w, int h, const char *what);
void qms_nv_remove(qms_nv_table *t, const uint8_t kc[2]);

/* A key for a new image, derived from its hash, from the letters and digits
 * only (so a key never looks like a space or a quote in a listing), and not
 * one of the table's nor of `taken` (keys the printer already has: another
 * program's logo is left alone). QMS_ERR_TOO_LARGE when none is free. */
int qms_nv_pick_key(const qms_nv_table *t, uint64_t hash, const uint8_t (*taken)[2], int ntaken,
                    uint8_t kc[2]);

#endif
