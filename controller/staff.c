/* Staff sign-in (staff.h). */
#include "staff.h"

#include "qms/alloc.h"
#include "qms/config.h"
#include "qms/err.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *what, int i)
{
    snprintf(err, errlen, "staff entry %d: %s", i + 1, what);
    return QMS_ERR_INVAL;
}

/* "pbkdf2-sha256$iter$salt$hash" -> parts; 0 = well-formed */
static int parse_hash(const char *h, int *iter, unsigned char *salt, int *saltlen,
                      unsigned char *dk, int *dklen)
{
    char buf[200];
    if (strlen(h) >= sizeof buf)
        return -1;
    strcpy(buf, h);
    char *kind = strtok(buf, "$"), *it = strtok(NULL, "$"), *s = strtok(NULL, "$"),
         *d = strtok(NULL, "$");
    if (!kind || !it || !s || !d || strtok(NULL, "$") || strcmp(kind, "pbkdf2-sha256") != 0)
        return -1;
    char *end;
    long n = strtol(it, &end, 10);
    if (*end || n < 1000 || n > 10000000)
        return -1;
    *iter = (int)n;
    size_t sl = strlen(s), dl = strlen(d);
    if (sl > 64 || dl > 64 || sl % 4 || dl % 4)
        return -1;
    int a = EVP_DecodeBlock(salt, (const unsigned char *)s, (int)sl);
    int b = EVP_DecodeBlock(dk, (const unsigned char *)d, (int)dl);
    if (a <= 0 || b <= 0)
        return -1;
    /* DecodeBlock counts the padding as zero bytes */
    a -= (sl && s[sl - 1] == '=') + (sl > 1 && s[sl - 2] == '=');
    b -= (dl && d[dl - 1] == '=') + (dl > 1 && d[dl - 2] == '=');
    if (a < 8 || b != 32)
        return -1;
    *saltlen = a;
    *dklen = b;
    return 0;
}

int ctl_staff_load(const char *path, ctl_staff_list *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    cJSON *root;
    int rc0 = qms_config_json_file(path, &root, err, errlen);
    if (rc0)
        return rc0;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "staff");
    int rc = QMS_OK;
    if (a && !cJSON_IsArray(a)) {
        snprintf(err, errlen, "\"staff\" must be a list");
        rc = QMS_ERR_INVAL;
    }
    int cnt = a ? cJSON_GetArraySize(a) : 0;
    if (!rc && cnt > 0 && !(out->v = qms_calloc((size_t)cnt, sizeof *out->v)))
        rc = QMS_ERR_NOMEM;
    for (int i = 0; !rc && i < cnt; i++) {
        const cJSON *e = cJSON_GetArrayItem(a, i);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "code_hash");
        unsigned char salt[64], dk[64];
        int iter, sl, dl;
        if (!cJSON_IsString(id) || !*id->valuestring || strlen(id->valuestring) >= 64)
            rc = fail(err, errlen, "\"id\" must be a string of 1-63 bytes", i);
        else if (!cJSON_IsString(h) ||
                 parse_hash(h->valuestring, &iter, salt, &sl, dk, &dl) != 0)
            rc = fail(err, errlen,
                      "\"code_hash\" must come from qms-provision --staff-hash", i);
        else {
            for (int k = 0; k < out->n; k++)
                if (!strcmp(out->v[k].id, id->valuestring))
                    rc = fail(err, errlen, "the same \"id\" twice", i);
            if (!rc) {
                snprintf(out->v[out->n].id, sizeof out->v[0].id, "%s", id->valuestring);
                snprintf(out->v[out->n].hash, sizeof out->v[0].hash, "%s", h->valuestring);
                out->n++;
            }
        }
    }
    cJSON_Delete(root);
    if (rc)
        ctl_staff_free(out);
    return rc;
}

void ctl_staff_free(ctl_staff_list *l)
{
    qms_free(l->v);
    l->v = NULL;
    l->n = 0;
}

int ctl_staff_check(const ctl_staff_list *l, const char *id, const char *code)
{
    if (!id || !code || !*code)
        return QMS_ERR_BAD_STAFF;
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].id, id) != 0)
            continue;
        unsigned char salt[64], dk[64], mine[64];
        int iter, sl, dl;
        if (parse_hash(l->v[i].hash, &iter, salt, &sl, dk, &dl) != 0)
            return QMS_ERR_BAD_STAFF;
        if (PKCS5_PBKDF2_HMAC(code, (int)strlen(code), salt, sl, iter, EVP_sha256(), dl, mine) != 1)
            return QMS_ERR_BAD_STAFF;
        return CRYPTO_memcmp(mine, dk, (size_t)dl) == 0 ? QMS_OK : QMS_ERR_BAD_STAFF;
    }
    return QMS_ERR_BAD_STAFF;
}
