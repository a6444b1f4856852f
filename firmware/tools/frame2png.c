/* frame2png: draws a hall board frame, given as text rows of '#' (lit) and
 * '.' (dark) as the firmware's front panel prints it (`frame`), as a PNG
 * that looks like the board: round amber LEDs on black, dim unlit ones.
 *   frame2png FRAME.txt OUT.png [PITCH]      (PITCH: pixels per LED, 8) */
#include <SDL.h>
#include <SDL_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: frame2png FRAME.txt OUT.png [PITCH]\n");
        return 2;
    }
    int pitch = argc > 3 ? atoi(argv[3]) : 8;
    FILE *f = fopen(argv[1], "r");
    if (!f || pitch < 2 || pitch > 32) {
        fprintf(stderr, "frame2png: %s: cannot read\n", argv[1]);
        return 1;
    }
    static char rows[256][1024];
    int h = 0, w = 0;
    while (h < 256 && fgets(rows[h], sizeof rows[h], f)) {
        rows[h][strcspn(rows[h], "\r\n")] = 0;
        int n = (int)strlen(rows[h]);
        if (n == 0 || strspn(rows[h], "#.") != (size_t)n)
            continue; /* not a frame row ("frame 192x64", "end") */
        if (n > w)
            w = n;
        h++;
    }
    fclose(f);
    if (h == 0) {
        fprintf(stderr, "frame2png: %s: no rows of '#' and '.'\n", argv[1]);
        return 1;
    }
    int border = pitch * 2;
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, w * pitch + 2 * border,
                                                    h * pitch + 2 * border, 32,
                                                    SDL_PIXELFORMAT_ARGB8888);
    SDL_FillRect(s, NULL, SDL_MapRGB(s->format, 18, 18, 20));
    SDL_Rect panel = {border / 2, border / 2, w * pitch + border, h * pitch + border};
    SDL_FillRect(s, &panel, SDL_MapRGB(s->format, 0, 0, 0));
    double r = pitch * 0.42;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int lit = rows[y][x] == '#';
            Uint32 c = lit ? SDL_MapRGB(s->format, 255, 150, 20) : SDL_MapRGB(s->format, 40, 22, 8);
            double cx = border + x * pitch + pitch / 2.0, cy = border + y * pitch + pitch / 2.0;
            for (int py = (int)(cy - r); py <= (int)(cy + r); py++)
                for (int px = (int)(cx - r); px <= (int)(cx + r); px++) {
                    double dx = px + 0.5 - cx, dy = py + 0.5 - cy;
                    if (dx * dx + dy * dy <= r * r) {
                        SDL_Rect d = {px, py, 1, 1};
                        SDL_FillRect(s, &d, c);
                    }
                }
        }
    if (IMG_SavePNG(s, argv[2]) != 0) {
        fprintf(stderr, "frame2png: %s: %s\n", argv[2], IMG_GetError());
        return 1;
    }
    SDL_FreeSurface(s);
    printf("%s: %dx%d LEDs\n", argv[2], w, h);
    return 0;
}
