/* ESC/POS: the byte-level encoder the ticket printer uses, and the parser of
 * the printer's status replies. No I/O here: the encoder appends to a growing
 * buffer, the reply reader consumes whatever bytes came back from the line.
 *
 * The subset used (and the one qms-vprinter understands):
 *   ESC @            initialize            ESC a n        justification 0/1/2
 *   ESC E n          emphasized on/off     ESC ! n        print mode (font B, bold, 2x)
 *   GS ! n           character size        ESC J n        feed n dots
 *   ESC d n          feed n lines          LF             print the line buffer
 *   GS v 0 m ...     raster image          GS ( k ...     QR code (model 2)
 *   GS V 66 n        feed n dots and cut   GS r 1         paper sensor status (in order)
 *   DLE EOT n        real-time status      DLE DC4 8 ...  real-time: clear buffers
 *   GS ( L ...       NV graphics: define (fn 67), print (fn 69), delete (fn 65, 66),
 *                    key code list (fn 64), capacity (fn 48) and what is left (fn 51) */
#ifndef QMS_ESCPOS_H
#define QMS_ESCPOS_H

#include <stddef.h>
#include <stdint.h>

#define QMS_ESC 0x1b
#define QMS_GS 0x1d
#define QMS_DLE 0x10
#define QMS_EOT 0x04
#define QMS_DC4 0x14

/* A growing byte buffer. On allocation failure it remembers the error and
 * ignores further appends; check qms_escpos_buf.err once at the end. */
typedef struct qms_escpos_buf {
    uint8_t *data; /* bytes so far (qms_malloc'd) */
    size_t len;    /* bytes used */
    size_t cap;    /* bytes allocated */
    int err;       /* QMS_OK or QMS_ERR_NOMEM after a failed append */
} qms_escpos_buf;

void qms_escpos_init_buf(qms_escpos_buf *b);
void qms_escpos_free_buf(qms_escpos_buf *b);
void qms_escpos_put(qms_escpos_buf *b, const void *p, size_t n);
void qms_escpos_byte(qms_escpos_buf *b, uint8_t c);

void qms_escpos_reset(qms_escpos_buf *b);                    /* ESC @ */
void qms_escpos_align(qms_escpos_buf *b, int align);         /* ESC a: 0 left 1 center 2 right */
void qms_escpos_bold(qms_escpos_buf *b, int on);             /* ESC E */
void qms_escpos_size(qms_escpos_buf *b, int wmul, int hmul); /* GS ! (1..8 each) */
void qms_escpos_feed_dots(qms_escpos_buf *b, int dots);      /* ESC J (splits above 255) */
/* Printable ASCII (0x20..0x7e) and LF only; anything else becomes '?' so a
 * printer never sees a byte it would take for a command. */
void qms_escpos_text(qms_escpos_buf *b, const char *s);
/* GS v 0: a packed 1-bit image, MSB first, 1 = black, stride bytes a row. */
void qms_escpos_raster(qms_escpos_buf *b, const uint8_t *bits, int stride, int rows);
/* A printer catches real-time commands (DLE EOT, DLE ENQ, DLE DC4) in the raw
 * stream, even inside image data (the ESC/POS manual says so): image bytes
 * 0x10 followed by 0x04, 0x05 or 0x14 would make it answer or clear its
 * buffer. The raster commands pass their data through this, which turns such
 * a 0x10 into 0x00 - one dot less, invisible at 203 dpi. */
void qms_escpos_rt_safe(uint8_t *p, size_t n);
/* The same with a scaling mode: 1 double width, 2 double height, 3 both. */
void qms_escpos_raster_mode(qms_escpos_buf *b, const uint8_t *bits, int stride, int rows, int mode);
/* GS ( k, model 2: module size (1..16), error correction 'L','M','Q','H',
 * store the data, print it. */
void qms_escpos_qr(qms_escpos_buf *b, const char *data, int module, char ecc);
void qms_escpos_cut(qms_escpos_buf *b, int feed_dots); /* GS V 66 n: feed, partial cut */

/* NV graphics (GS ( L, m = 48): images kept in the printer's non-volatile
 * memory under a two-byte key code (each byte 32..126), defined once and
 * printed with an 11-byte command. */
#define QMS_NV_KEY_MIN 32
#define QMS_NV_KEY_MAX 126
/* Largest image data a GS ( L define carries (pL pH counts 11 more bytes). */
#define QMS_NV_MAX_DATA (65535 - 11)
/* Function 67: define raster image (kc1, kc2) of stride * 8 dots by rows,
 * one colour; the data passes through qms_escpos_rt_safe like GS v 0's, so
 * a stored image is bit for bit the one GS v 0 would print. Nothing is
 * appended for a key outside 32..126 or data over QMS_NV_MAX_DATA. */
void qms_escpos_nv_define(qms_escpos_buf *b, uint8_t kc1, uint8_t kc2, const uint8_t *bits,
                          int stride, int rows);
/* Function 69: print the image at (kc1, kc2), normal size (x = y = 1). */
void qms_escpos_nv_print(qms_escpos_buf *b, uint8_t kc1, uint8_t kc2);
void qms_escpos_nv_delete(qms_escpos_buf *b, uint8_t kc1, uint8_t kc2); /* function 66 */
void qms_escpos_nv_delete_all(qms_escpos_buf *b);                       /* function 65 "CLR" */
/* Function 64 "KC": the printer answers 37 72 s [kc1 kc2]... 00 (s = 0x41:
 * more blocks follow, 0x40: last) and waits for the host's ACK (next
 * block) / NAK (again) / CAN (stop) after each block. */
void qms_escpos_nv_keylist_request(qms_escpos_buf *b);
#define QMS_NV_ACK 0x06
#define QMS_NV_NAK 0x15
#define QMS_NV_CAN 0x18
/* Function 51: bytes left, answered 37 31 <decimal digits> 00; function 48:
 * the whole NV area, 37 30 <digits> 00. */
void qms_escpos_nv_remaining_request(qms_escpos_buf *b);
void qms_escpos_nv_capacity_request(qms_escpos_buf *b);

/* Status requests. */
void qms_escpos_status_request(qms_escpos_buf *b); /* DLE EOT 1, DLE EOT 2, DLE EOT 4 */
void qms_escpos_sensor_request(qms_escpos_buf *b); /* GS r 1: answered after what precedes */
void qms_escpos_clear_buffers(qms_escpos_buf *b);  /* DLE DC4 8 1 3 20 1 6 2 8 */

/* What the three real-time status bytes say. */
typedef struct qms_escpos_status {
    uint8_t raw[3];  /* replies to DLE EOT 1, 2, 4 */
    int offline;     /* EOT1 bit 3 */
    int cover_open;  /* EOT2 bit 2 */
    int feed_button; /* EOT2 bit 3: paper being fed by the button */
    int paper_stop;  /* EOT2 bit 5: printing stopped because the paper ended */
    int error;       /* EOT2 bit 6: an error occurred (cutter, head ...) */
    int paper_low;   /* EOT4 bits 2-3: roll near its end */
    int paper_out;   /* EOT4 bits 5-6: no paper */
} qms_escpos_status;

/* Is c a well-formed real-time status byte (pattern 0xx1xx10)? */
int qms_escpos_is_rt_status(uint8_t c);
/* Decode the replies to DLE EOT 1, 2 and 4 (in that order). QMS_ERR_PROTOCOL
 * if any byte is not a status byte. */
int qms_escpos_status_decode(const uint8_t r[3], qms_escpos_status *out);

/* A reader of the printer's replies as they arrive. Every byte is sorted
 * by its bit pattern: a real-time status byte (0xx1xx10) is queued, a GS r
 * sensor byte (0xx0xxxx) is kept; an Automatic Status Back packet (4 bytes,
 * header 0xx1xx00), a response block (0x37 or 0x5f ... NUL) and flow-control
 * or stray bytes are skipped. The two
 * kinds can arrive interleaved: a DLE EOT asked while a GS r waits behind a
 * paused print job is answered first. */
typedef struct qms_escpos_reader {
    uint8_t rt[8];         /* real-time status bytes, oldest first */
    int nrt;               /* how many in rt */
    int sensor;            /* last GS r reply byte, or -1 */
    int asb_skip;          /* bytes of an ASB packet still to skip */
    int in_block;          /* inside a 0x37/0x5f ... NUL response block */
    unsigned long skipped; /* bytes thrown away (for the log) */
    /* the last complete 0x37 response block, without header and NUL (the
     * answers to the NV graphics queries); longer blocks are cut here */
    uint8_t blk[256];
    int blk_len;   /* bytes in blk so far */
    int blk_ready; /* 1: blk holds a whole block */
} qms_escpos_reader;

void qms_escpos_reader_reset(qms_escpos_reader *r);
void qms_escpos_reader_feed(qms_escpos_reader *r, const uint8_t *p, size_t n);
/* Take the three oldest real-time bytes (replies to DLE EOT 1, 2, 4) if there
 * are three: 1 and out filled, else 0. */
int qms_escpos_reader_take_rt(qms_escpos_reader *r, uint8_t out[3]);

/* The NV key code list block in r (identifier 0x72): its keys (pairs) into
 * keys[*n..] up to max, *more = 1 when the printer has another block.
 * QMS_ERR_PROTOCOL when the block is something else or malformed. */
int qms_escpos_nv_keylist_decode(const qms_escpos_reader *r, uint8_t (*keys)[2], int max, int *n,
                                 int *more);
/* The capacity block (identifier 0x30 or 0x31 as asked): bytes. */
int qms_escpos_nv_number_decode(const qms_escpos_reader *r, uint8_t ident, long *bytes);

/* Bytes of GS r 1 reply: paper near end (bits 0-1), paper out (bits 2-3). */
int qms_escpos_sensor_decode(uint8_t c, int *paper_low, int *paper_out);

#endif
