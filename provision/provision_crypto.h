/* What qms-provision needs from libcrypto: random secrets, mosquitto's
 * password hash, and a small certificate authority. No crypto of our own:
 * PBKDF2, keys and X.509 are OpenSSL's. */
#ifndef QMS_PROVISION_CRYPTO_H
#define QMS_PROVISION_CRYPTO_H

#include <stddef.h>

/* A random password of n characters from [A-Za-z0-9] (n < cap). 0 = ok. */
int prov_random_password(char *out, size_t cap, size_t n);

/* mosquitto_passwd's format for a password file line's hash:
 * "$7$101$<base64 salt>$<base64 PBKDF2-SHA512>" (mosquitto 2.0). 0 = ok. */
int prov_mosquitto_hash(const char *password, char *out, size_t cap);

/* A salted hash for a staff code: "pbkdf2-sha256$<iter>$<b64 salt>$<b64 hash>",
 * and its check (1 = the code matches). */
int prov_staff_hash(const char *code, char *out, size_t cap);

/* The CA in dir/ca.crt + dir/ca.key: loaded when present, made otherwise
 * (10 years). */
typedef struct prov_ca prov_ca;
int prov_ca_open(const char *dir, const char *site, prov_ca **out, char *err, size_t errlen);
void prov_ca_free(prov_ca *ca);

/* Make crt_path/key_path (EC P-256) signed by the CA, for cn: a server
 * certificate when sans (comma-separated "IP:1.2.3.4" / "DNS:name") is given,
 * else a client certificate. The key file is written mode 0600. 0 = ok. */
int prov_ca_issue(prov_ca *ca, const char *cn, const char *sans, int days, const char *crt_path,
                  const char *key_path, char *err, size_t errlen);

#endif
