/* A voice pack made of tones, for tests: clip k of the pack list is a tone
 * (40 + 2k) ms long, so a recording's clips can be told apart by length. */
#ifndef QMS_TEST_TONEPACK_H
#define QMS_TEST_TONEPACK_H

#include "spell.h"
#include "voice.h"

#include "qms/alloc.h"
#include "qms/err.h"

#include <math.h>
#include <stdio.h>

#define TP_MS(x) ((size_t)(x)*QMS_VOICE_RATE / 1000)

static inline size_t tonepack_len(int k)
{
    return TP_MS(40 + 2 * k);
}

/* The clip names in pack order: chime, the vi list, the en list. */
static inline int tonepack_names(const char **names, int max)
{
    const char *const *vn, *const *en, *const *txt;
    int nvi = qms_spell_pack_list("vi", &vn, &txt);
    int nen = qms_spell_pack_list("en", &en, &txt);
    int n = 0;
    names[n++] = "chime";
    for (int i = 0; i < nvi && n < max; i++)
        names[n++] = vn[i];
    for (int i = 0; i < nen && n < max; i++)
        names[n++] = en[i];
    return n;
}

static inline int tonepack_make(const char *dir)
{
    const char *names[256];
    int n = tonepack_names(names, 256);
    for (int k = 0; k < n; k++) {
        size_t len = tonepack_len(k);
        int16_t *p = qms_malloc(len * sizeof *p);
        if (!p)
            return QMS_ERR_NOMEM;
        for (size_t i = 0; i < len; i++)
            p[i] = (int16_t)(10000 * cos(2 * M_PI * (300 + 7 * k) * (double)i / QMS_VOICE_RATE));
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.wav", dir, names[k]);
        int rc = qms_wav_write(path, p, len);
        qms_free(p);
        if (rc)
            return rc;
    }
    return QMS_OK;
}

#endif
