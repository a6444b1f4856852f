/* The vprinter's decoder and paper model on arbitrary bytes: the first byte
 * picks the paper width and a fault to apply halfway, the rest is the line.
 * With bit 4 of the first byte the first half is an NV store file to load
 * (what qms-vprinter reads at start) instead; with bit 5 the printer has no
 * NV graphics. Whatever NV memory results must save and load back. */
#include "vprinter.h"

#include "qms/alloc.h"

#include <stdint.h>
#include <string.h>

static void on_reply(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++)
        if (p[i] & 0x80)
            __builtin_trap(); /* no reply byte the vprinter sends has bit 7 */
}

static void on_page(void *ud, const qms_vp_page *pg)
{
    (void)ud;
    for (int i = 0; i < pg->nelems; i++) {
        const qms_vp_elem *e = &pg->elems[i];
        if (e->x < 0 || e->w < 0 || e->x + e->w > pg->width || e->y < 0 || e->h < 0)
            __builtin_trap(); /* everything printed lies on the paper */
        if (e->kind == QMS_VP_TEXT &&
            (!e->text ||
             (size_t)e->w != strlen(e->text) * (size_t)((e->font_b ? 9 : 12) * e->wmul)))
            __builtin_trap(); /* a text run is as wide as its characters */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    qms_vp_hooks h = {.reply = on_reply, .page = on_page};
    qms_vp *v = NULL;
    if (qms_vp_new(data[0] & 1 ? 512 : 576, &h, &v) != 0)
        return 0;
    if (data[0] & 2)
        qms_vp_set_paper_left(v, (data[0] >> 2) * 16);
    if (data[0] & 32)
        qms_vp_set_nv_support(v, 0);
    size_t half = (size - 1) / 2;
    if (data[0] & 16) {
        if (qms_vp_nv_load(v, data + 1, half) != 0 && qms_vp_nv_count(v) != 0)
            __builtin_trap(); /* a refused store leaves the memory empty */
    } else {
        qms_vp_feed(v, data + 1, half);
    }
    if (data[0] & 4)
        qms_vp_set_paper_out(v, 0);
    if (data[0] & 8)
        qms_vp_set_cover_open(v, 1);
    qms_vp_feed(v, data + 1 + half, size - 1 - half);
    if (data[0] & 8)
        qms_vp_set_cover_open(v, 0);
    uint8_t *saved = NULL;
    size_t n = 0;
    if (qms_vp_nv_save(v, &saved, &n) == 0) {
        int count = qms_vp_nv_count(v);
        long used = qms_vp_nv_used(v);
        if (qms_vp_nv_load(v, saved, n) != 0 || qms_vp_nv_count(v) != count ||
            qms_vp_nv_used(v) != used)
            __builtin_trap(); /* the NV memory survives a restart whole */
        qms_free(saved);
    }
    qms_vp_free(v);
    return 0;
}
