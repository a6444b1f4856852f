/* The printer-reply parser: whatever comes back on the line is sorted
 * without a crash, and what it hands out always decodes. */
#include "escpos.h"

#include "qms/err.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qms_escpos_reader r;
    qms_escpos_reader_reset(&r);
    /* feed in uneven pieces, taking status triples as they complete */
    size_t off = 0, piece = 1;
    while (off < size) {
        size_t n = size - off < piece ? size - off : piece;
        qms_escpos_reader_feed(&r, data + off, n);
        off += n;
        piece = piece * 2 % 7 + 1;
        uint8_t rt[3];
        while (qms_escpos_reader_take_rt(&r, rt)) {
            qms_escpos_status s;
            if (qms_escpos_status_decode(rt, &s) != QMS_OK)
                __builtin_trap(); /* the reader only keeps status bytes */
        }
        if (r.nrt < 0 || r.nrt > (int)sizeof r.rt)
            __builtin_trap();
        if (r.blk_len < 0 || r.blk_len > (int)sizeof r.blk)
            __builtin_trap();
        if (r.blk_ready) {
            /* the NV answers' decoders on whatever block came */
            uint8_t keys[64][2];
            int nk = 0, more = 0;
            if (qms_escpos_nv_keylist_decode(&r, keys, 64, &nk, &more) == QMS_OK)
                for (int i = 0; i < nk; i++)
                    if (keys[i][0] < 32 || keys[i][0] > 126 || keys[i][1] < 32 || keys[i][1] > 126)
                        __builtin_trap();
            long bytes = -1;
            if (qms_escpos_nv_number_decode(&r, 0x31, &bytes) == QMS_OK && bytes < 0)
                __builtin_trap();
        }
        if (r.sensor >= 0) {
            int lo, po;
            if (qms_escpos_sensor_decode((uint8_t)r.sensor, &lo, &po) != QMS_OK)
                __builtin_trap();
        }
    }
    /* the decoder on its own, on raw bytes */
    if (size >= 3) {
        qms_escpos_status s;
        qms_escpos_status_decode(data, &s);
    }
    return 0;
}
