/* The NV record file's parser (printer/printer_nv.c) on arbitrary text: a
 * clear refusal or a table that saves and parses back to itself. */
#include "printer_nv.h"

#include "qms/err.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qms_nv_table t;
    qms_nv_init(&t);
    char err[200];
    if (qms_nv_parse((const char *)data, size, &t, err, sizeof err) != QMS_OK) {
        if (t.n != 0 || !err[0])
            __builtin_trap(); /* refused: nothing kept, and a reason */
        return 0;
    }
    for (int i = 0; i < t.n; i++) {
        if (!qms_nv_find(&t, t.e[i].hash, t.e[i].w, t.e[i].h, 0) ||
            qms_nv_find_key(&t, t.e[i].kc) != &t.e[i])
            __builtin_trap();
        uint8_t kc[2];
        if (qms_nv_pick_key(&t, t.e[i].hash, NULL, 0, kc) == QMS_OK && qms_nv_find_key(&t, kc))
            __builtin_trap(); /* a picked key is free */
    }
    /* saved and read back: the same table */
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz-nv-record-%d", (int)getpid());
    if (qms_nv_save(path, &t) == QMS_OK) {
        qms_nv_table u;
        qms_nv_init(&u);
        if (qms_nv_load(path, &u, NULL, err, sizeof err) != QMS_OK || u.n != t.n)
            __builtin_trap();
        for (int i = 0; i < t.n; i++)
            if (u.e[i].hash != t.e[i].hash || memcmp(u.e[i].kc, t.e[i].kc, 2) != 0 ||
                u.e[i].w != t.e[i].w || u.e[i].h != t.e[i].h)
                __builtin_trap();
        qms_nv_free(&u);
        unlink(path);
    }
    qms_nv_free(&t);
    return 0;
}
