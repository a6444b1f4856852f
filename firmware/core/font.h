/* The hall board's bitmap font, generated at build time from a TTF font by
 * firmware/tools/mkfont.c (only the glyphs the board needs). */
#ifndef QMS_FW_FONT_H
#define QMS_FW_FONT_H
#include <stdint.h>

struct fw_glyph {
    uint16_t cp;     /* code point (all needed ones are below U+FFFF) */
    uint8_t width;   /* columns */
    uint16_t offset; /* first column in fw_font_cols */
};

extern const struct fw_glyph fw_font_glyphs[]; /* sorted by cp */
extern const uint16_t fw_font_count;
extern const uint16_t fw_font_cols[]; /* one column a word, bit r = row r (0 = top) */

#endif
