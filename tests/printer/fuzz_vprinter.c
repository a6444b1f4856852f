/* The vprinter's decoder and paper model on arbitrary bytes: the first byte
 * picks the paper width and a fault to apply halfway, the rest is the line. */
#include "vprinter.h"

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
    size_t half = (size - 1) / 2;
    qms_vp_feed(v, data + 1, half);
    if (data[0] & 4)
        qms_vp_set_paper_out(v, 0);
    if (data[0] & 8)
        qms_vp_set_cover_open(v, 1);
    qms_vp_feed(v, data + 1 + half, size - 1 - half);
    if (data[0] & 8)
        qms_vp_set_cover_open(v, 0);
    qms_vp_free(v);
    return 0;
}
