/* libcrypto for qms-provision (provision_crypto.h). */
#include "provision_crypto.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct prov_ca {
    X509 *crt;
    EVP_PKEY *key;
};

static void ossl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

int prov_random_password(char *out, size_t cap, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    if (n + 1 > cap)
        return -1;
    for (size_t i = 0; i < n;) {
        unsigned char b[32];
        if (RAND_bytes(b, sizeof b) != 1)
            return -1;
        for (size_t k = 0; k < sizeof b && i < n; k++)
            if (b[k] < 248) /* 248 = 4 * 62: no bias */
                out[i++] = alphabet[b[k] % 62];
    }
    out[n] = 0;
    return 0;
}

static int b64(const unsigned char *in, int n, char *out, size_t cap)
{
    if ((size_t)(4 * ((n + 2) / 3) + 1) > cap)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, in, n);
    return 0;
}

int prov_mosquitto_hash(const char *password, char *out, size_t cap)
{
    /* mosquitto 2.0: SALT_LEN 12, PW_DEFAULT_ITERATIONS 101, sha512 */
    unsigned char salt[12], hash[64];
    char s64[32], h64[100];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -1;
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof salt, 101, EVP_sha512(),
                          sizeof hash, hash) != 1)
        return -1;
    if (b64(salt, sizeof salt, s64, sizeof s64) || b64(hash, sizeof hash, h64, sizeof h64))
        return -1;
    int k = snprintf(out, cap, "$7$101$%s$%s", s64, h64);
    return k < 0 || (size_t)k >= cap ? -1 : 0;
}

int prov_staff_hash(const char *code, char *out, size_t cap)
{
    unsigned char salt[16], hash[32];
    char s64[32], h64[64];
    const int iter = 100000;
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -1;
    if (PKCS5_PBKDF2_HMAC(code, (int)strlen(code), salt, sizeof salt, iter, EVP_sha256(),
                          sizeof hash, hash) != 1)
        return -1;
    if (b64(salt, sizeof salt, s64, sizeof s64) || b64(hash, sizeof hash, h64, sizeof h64))
        return -1;
    int k = snprintf(out, cap, "pbkdf2-sha256$%d$%s$%s", iter, s64, h64);
    return k < 0 || (size_t)k >= cap ? -1 : 0;
}

static int write_key(const char *path, EVP_PKEY *key)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    fchmod(fd, 0600);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    int ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int write_crt(const char *path, X509 *crt)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = PEM_write_X509(f, crt) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int add_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, crt, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex)
        return -1;
    int ok = X509_add_ext(crt, ex, -1) == 1;
    X509_EXTENSION_free(ex);
    return ok ? 0 : -1;
}

/* A certificate for key, named cn, signed by (issuer, ikey) or by itself. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, int days,
                       int is_ca, const char *sans)
{
    X509 *crt = X509_new();
    unsigned char serial[16];
    if (!crt || RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt));
    BN_free(bn);
    if (!ok || X509_set_version(crt, 2) != 1)
        goto fail;
    X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
    X509_time_adj_ex(X509_getm_notAfter(crt), days, 0, NULL);
    X509_NAME *name = X509_get_subject_name(crt);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1)
        goto fail;
    X509_set_issuer_name(crt, issuer ? X509_get_subject_name(issuer) : name);
    if (X509_set_pubkey(crt, key) != 1)
        goto fail;
    X509 *iss = issuer ? issuer : crt;
    if (add_ext(crt, iss, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE") ||
        add_ext(crt, iss, NID_key_usage,
                is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") ||
        add_ext(crt, iss, NID_subject_key_identifier, "hash") ||
        add_ext(crt, iss, NID_authority_key_identifier, "keyid:always"))
        goto fail;
    if (!is_ca && add_ext(crt, iss, NID_ext_key_usage, sans ? "serverAuth" : "clientAuth"))
        goto fail;
    if (sans && add_ext(crt, iss, NID_subject_alt_name, sans))
        goto fail;
    if (!X509_sign(crt, ikey ? ikey : key, EVP_sha256()))
        goto fail;
    return crt;
fail:
    X509_free(crt);
    return NULL;
}

int prov_ca_open(const char *dir, const char *site, prov_ca **out, char *err, size_t errlen)
{
    char crt_path[1024], key_path[1024];
    snprintf(crt_path, sizeof crt_path, "%s/ca.crt", dir);
    snprintf(key_path, sizeof key_path, "%s/ca.key", dir);
    prov_ca *ca = calloc(1, sizeof *ca);
    if (!ca)
        return -1;
    FILE *fc = fopen(crt_path, "r"), *fk = fopen(key_path, "r");
    if (fc || fk) {
        if (fc)
            ca->crt = PEM_read_X509(fc, NULL, NULL, NULL);
        if (fk)
            ca->key = PEM_read_PrivateKey(fk, NULL, NULL, NULL);
        if (fc)
            fclose(fc);
        if (fk)
            fclose(fk);
        if (!ca->crt || !ca->key || X509_check_private_key(ca->crt, ca->key) != 1) {
            snprintf(err, errlen, "%s and %s are there but do not make a CA (both readable, "
                                  "the key the certificate's?)", crt_path, key_path);
            prov_ca_free(ca);
            return -1;
        }
        *out = ca;
        return 0;
    }
    ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char cn[128];
    snprintf(cn, sizeof cn, "QMS CA %s", site);
    if (ca->key)
        ca->crt = make_cert(ca->key, cn, NULL, NULL, 3650, 1, NULL);
    if (!ca->crt) {
        ossl_err(err, errlen, "cannot make the CA");
        prov_ca_free(ca);
        return -1;
    }
    if (write_key(key_path, ca->key) || write_crt(crt_path, ca->crt)) {
        snprintf(err, errlen, "cannot write %s", crt_path);
        prov_ca_free(ca);
        return -1;
    }
    *out = ca;
    return 0;
}

void prov_ca_free(prov_ca *ca)
{
    if (!ca)
        return;
    X509_free(ca->crt);
    EVP_PKEY_free(ca->key);
    free(ca);
}

int prov_ca_issue(prov_ca *ca, const char *cn, const char *sans, int days, const char *crt_path,
                  const char *key_path, char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *crt = key ? make_cert(key, cn, ca->crt, ca->key, days, 0, sans) : NULL;
    int rc = 0;
    if (!crt) {
        ossl_err(err, errlen, "cannot make a certificate");
        rc = -1;
    } else if (write_key(key_path, key) || write_crt(crt_path, crt)) {
        snprintf(err, errlen, "cannot write %s", crt_path);
        rc = -1;
    }
    X509_free(crt);
    EVP_PKEY_free(key);
    return rc;
}
