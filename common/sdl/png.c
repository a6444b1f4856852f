#include "qms/png.h"

#include "qms/err.h"
#include "qms/file.h"

#include <SDL_image.h>
#include <errno.h>
#include <string.h>

static int write_png(FILE *f, void *ctx)
{
    SDL_RWops *rw = SDL_RWFromFP(f, SDL_FALSE);
    if (!rw)
        return QMS_ERR_IO;
    return IMG_SavePNG_RW(ctx, rw, 1) == 0 ? QMS_OK : QMS_ERR_IO;
}

int qms_png_save(SDL_Surface *s, const char *path)
{
    int rc = qms_file_replace(path, write_png, s);
    if (rc && !*SDL_GetError())
        SDL_SetError("%s", strerror(errno));
    return rc;
}

int qms_png_save_renderer(SDL_Renderer *ren, int w, int h, const char *path)
{
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!s)
        return QMS_ERR_NOMEM;
    int rc = SDL_RenderReadPixels(ren, NULL, SDL_PIXELFORMAT_ARGB8888, s->pixels, s->pitch) == 0
                 ? qms_png_save(s, path)
                 : QMS_ERR_IO;
    SDL_FreeSurface(s);
    return rc;
}
