/* Turning a qms-vprinter page into what a person and a test look at: a PNG
 * of the paper (raster images as sent, ASCII in a monospace font at the
 * printer's cell size, QR codes drawn from their payload) and a JSON record
 * (bytes, text runs, raster images with their hashes, QR payloads as sent
 * and as scanned back from the picture with zbar, refusals). */
#ifndef QMS_VPRINTER_RENDER_H
#define QMS_VPRINTER_RENDER_H

#include "vprinter.h"

typedef struct qms_vp_render qms_vp_render;

/* font_dir: where NotoMono-Regular.ttf lives (NULL: the Noto default). */
int qms_vp_render_new(const char *font_dir, qms_vp_render **out);
void qms_vp_render_free(qms_vp_render *r);

/* Write dir/<n>.png and dir/<n>.json for a page. QMS_ERR_IO on failure. */
int qms_vp_render_page(qms_vp_render *r, const qms_vp_page *pg, int n, const char *dir);

#endif
