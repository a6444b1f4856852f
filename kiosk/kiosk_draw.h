/* Turns a kiosk_view into pixels with SDL2 + SDL2_ttf (Noto Sans).
 * Text is fitted into its box (largest size that fits, wrapped on words)
 * and rendered textures are cached, so a redraw after a tap is cheap. */
#ifndef QMS_KIOSK_DRAW_H
#define QMS_KIOSK_DRAW_H

#include "kiosk_layout.h"
#include "kiosk_view.h"

struct SDL_Renderer;
typedef struct kiosk_draw kiosk_draw;

/* Open the fonts (NotoSans-Regular.ttf, NotoSans-Bold.ttf in font_dir).
 * QMS_ERR_IO with a message logged when they are missing. TTF_Init must
 * have been called. */
int kiosk_draw_new(struct SDL_Renderer *r, const char *font_dir, kiosk_draw **out);
void kiosk_draw_free(kiosk_draw *d);

/* Draw the whole screen into the renderer's current target (no present). */
void kiosk_draw_frame(kiosk_draw *d, const kiosk_layout *l, const kiosk_view *v);

/* Forget cached textures (after the renderer's target was recreated). */
void kiosk_draw_flush(kiosk_draw *d);

#endif
