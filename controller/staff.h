/* Staff sign-in: the center's staff list with salted code hashes (center.json
 * "staff": [{"id","name","code_hash"}], docs/config.md), read by the
 * controller only (it is not part of the retained config everyone reads),
 * and the check of a code an "open" brings. Hashes are PBKDF2-HMAC-SHA256
 * ("pbkdf2-sha256$<iterations>$<base64 salt>$<base64 hash>", made by
 * qms-provision --staff-hash), checked with libcrypto. */
#ifndef QMS_CTL_STAFF_H
#define QMS_CTL_STAFF_H

#include <stddef.h>

typedef struct ctl_staff {
    char id[64];
    char hash[200];
} ctl_staff;

typedef struct ctl_staff_list {
    ctl_staff *v;
    int n; /* 0: no list, "open" records any staff id as before */
} ctl_staff_list;

/* Read the "staff" array of the center config file. QMS_OK (also when there
 * is none), QMS_ERR_INVAL with err naming the entry. */
int ctl_staff_load(const char *config_path, ctl_staff_list *out, char *err, size_t errlen);
void ctl_staff_free(ctl_staff_list *l);
/* QMS_OK when id is on the list and code matches its hash; QMS_ERR_BAD_STAFF
 * otherwise (unknown id, wrong or missing code). */
int ctl_staff_check(const ctl_staff_list *l, const char *id, const char *code);

#endif
