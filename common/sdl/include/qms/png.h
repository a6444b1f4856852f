/* PNG pictures of what the SDL programs draw (the kiosk's and the board's
 * screenshots, the virtual printer's paper), written whole or not at all
 * (qms/file.h). Part of libqms_sdl: only the SDL programs link it, so that
 * libqms itself stays free of SDL. */
#ifndef QMS_PNG_H
#define QMS_PNG_H

#include <SDL.h>

/* Save s as a PNG at path. QMS_OK, or an error (SDL_GetError() says more). */
int qms_png_save(SDL_Surface *s, const char *path);

/* Save what ren's render target holds (w x h pixels) as a PNG at path. */
int qms_png_save_renderer(SDL_Renderer *ren, int w, int h, const char *path);

#endif
