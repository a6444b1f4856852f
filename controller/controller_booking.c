/* Bookings in the controller (docs/booking.md): the booking topics
 * (qms/<site>/booking/slots|make|cancel, request/reply like ticket/take) and
 * the check-in on ticket/take. The rules are booking.c's; here: the set kept
 * in the store (written in the batch's own transaction, so a booking is on
 * disk before its reply, and two requests for the last place in one batch
 * see each other), and the citizen's keyed hash. The CCCD number is hashed
 * as soon as it is read and is never stored, published nor logged: the key
 * (32 random bytes) lives in a file of its own (booking.key_file, default
 * <store>.booking-key, mode 0600), not in the store, so a copy of the store
 * alone cannot be searched for a known number. */
#include "ctl.h"

#include "booking.h"

#include "qms/alloc.h"
#include "qms/bookcode.h"
#include "qms/calendar.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* booking/make per client id (the reply topic's segment, which the
 * broker's ACL ties to the MQTT client id): at most cfg.make_per_min in a
 * minute counted from the first of them. A client id not seen for the
 * longest time gives its place when the table is full. */
#define BK_RATE_CLIENTS 1024
typedef struct bk_rate {
    char client[128];
    int64_t since_ms; /* monotonic: start of its minute */
    int n;            /* makes in that minute */
} bk_rate;

struct ctl_booking {
    bk_cfg cfg;
    bk_set set;
    unsigned char key[32];
    bk_rate rate[BK_RATE_CLIENTS];
    int nrate;
};

/* May client make one more booking now? 1 (counted), or 0 with the seconds
 * until its minute ends in *retry_s. */
static int rate_ok(struct ctl_booking *b, const char *client, int64_t now_ms, int *retry_s)
{
    if (b->cfg.make_per_min <= 0)
        return 1;
    bk_rate *r = NULL, *oldest = NULL;
    for (int i = 0; i < b->nrate && !r; i++) {
        if (strcmp(b->rate[i].client, client) == 0)
            r = &b->rate[i];
        else if (!oldest || b->rate[i].since_ms < oldest->since_ms)
            oldest = &b->rate[i];
    }
    if (!r) {
        r = b->nrate < BK_RATE_CLIENTS ? &b->rate[b->nrate++] : oldest;
        snprintf(r->client, sizeof r->client, "%s", client);
        r->since_ms = now_ms;
        r->n = 0;
    }
    if (now_ms - r->since_ms >= 60000) {
        r->since_ms = now_ms;
        r->n = 0;
    }
    if (r->n >= b->cfg.make_per_min) {
        *retry_s = (int)((r->since_ms + 60000 - now_ms + 999) / 1000);
        return 0;
    }
    r->n++;
    return 1;
}

/* ---- the key ---- */

static int read_or_make_key(const char *path, unsigned char key[32])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, key, 32);
        close(fd);
        if (n != 32) {
            QMS_ERROR("booking key %s: not 32 bytes (remove it to make a new one: every booking "
                      "made with the old key is then unknown to its citizen's CCCD)",
                      path);
            return QMS_ERR_IO;
        }
        return QMS_OK;
    }
    if (errno != ENOENT) {
        QMS_ERROR("booking key %s: %s", path, strerror(errno));
        return QMS_ERR_IO;
    }
    if (getrandom(key, 32, 0) != 32)
        return QMS_ERR_IO;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, key, 32) != 32 || fsync(fd) != 0) {
        QMS_ERROR("booking key %s: cannot write it: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return QMS_ERR_IO;
    }
    close(fd);
    QMS_INFO("made a new booking key in %s (mode 0600; back it up with the store)", path);
    return QMS_OK;
}

/* HMAC-SHA256(key, number) in hex */
static void cccd_hash(const struct ctl_booking *b, const char *cccd, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), b->key, (int)sizeof b->key, (const unsigned char *)cccd, strlen(cccd), mac,
         &len);
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = 0;
    OPENSSL_cleanse(mac, sizeof mac);
}

/* ---- the store ---- */

static int write_dirty(void *ud, void *dbv)
{
    struct ctl_booking *b = ud;
    sqlite3 *db = dbv;
    sqlite3_stmt *st = NULL;
    int any = 0;
    for (int i = 0; i < b->set.n && !any; i++)
        any = b->set.v[i].dirty;
    if (!any)
        return QMS_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO bookings(id, code, service, day, slot, cccd_hash, state,"
                           " created_ms, ticket_id) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"
                           " ON CONFLICT(id) DO UPDATE SET state = excluded.state,"
                           " ticket_id = excluded.ticket_id",
                           -1, &st, NULL) != SQLITE_OK) {
        QMS_ERROR("store: bookings: %s", sqlite3_errmsg(db));
        return QMS_ERR_DB;
    }
    int rc = QMS_OK;
    for (int i = 0; i < b->set.n && rc == QMS_OK; i++) {
        bk_entry *e = &b->set.v[i];
        if (!e->dirty)
            continue;
        char day[11], slot[8];
        qms_day_str(e->day, day);
        qms_proto_hhmm(e->slot_s, slot, sizeof slot);
        sqlite3_bind_int64(st, 1, e->id);
        sqlite3_bind_text(st, 2, e->code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, e->service, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, day, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, slot, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, e->hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, bk_state_name(e->state), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, e->created_ms);
        if (e->ticket_id)
            sqlite3_bind_int64(st, 9, e->ticket_id);
        else
            sqlite3_bind_null(st, 9);
        if (sqlite3_step(st) != SQLITE_DONE) {
            QMS_ERROR("store: writing booking %lld: %s", (long long)e->id, sqlite3_errmsg(db));
            rc = QMS_ERR_DB;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc == QMS_OK)
            e->dirty = 0; /* a failed COMMIT reloads the set from the store (undo or restart) */
    }
    sqlite3_finalize(st);
    return rc;
}

/* The bookings from yesterday on (older ones can change no more). */
static int load_set(qms_ctl *c)
{
    struct ctl_booking *b = c->bk;
    bk_set_free(&b->set);
    sqlite3 *db = qms_store_db(c->store);
    sqlite3_stmt *st = NULL;
    char from[11];
    qms_day_str(qms_engine_day(c->eng) - 1, from);
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM bookings", -1, &st, NULL) !=
        SQLITE_OK)
        return QMS_ERR_DB;
    if (sqlite3_step(st) == SQLITE_ROW)
        b->set.next_id = sqlite3_column_int64(st, 0) + 1;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db,
                           "SELECT id, code, service, day, slot, cccd_hash, state, created_ms,"
                           " ticket_id FROM bookings WHERE day >= ?1 ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return QMS_ERR_DB;
    sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
    int rc, bad = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bk_entry e;
        memset(&e, 0, sizeof e);
        e.id = sqlite3_column_int64(st, 0);
        const char *code = (const char *)sqlite3_column_text(st, 1);
        const char *svc = (const char *)sqlite3_column_text(st, 2);
        const char *day = (const char *)sqlite3_column_text(st, 3);
        const char *slot = (const char *)sqlite3_column_text(st, 4);
        const char *hash = (const char *)sqlite3_column_text(st, 5);
        const char *state = (const char *)sqlite3_column_text(st, 6);
        e.state = bk_state_parse(state);
        if (!code || strlen(code) != 8 || !svc || strlen(svc) >= sizeof e.service || !day ||
            qms_day_parse(day, &e.day) || !slot || qms_hhmm_parse(slot, &e.slot_s) || !hash ||
            strlen(hash) != 64 || e.state < 0) {
            bad++;
            continue;
        }
        memcpy(e.code, code, 9);
        memcpy(e.service, svc, strlen(svc) + 1);
        memcpy(e.hash, hash, 65);
        e.created_ms = sqlite3_column_int64(st, 7);
        e.ticket_id = sqlite3_column_int64(st, 8);
        if (!bk_set_add(&b->set, &e)) {
            sqlite3_finalize(st);
            return QMS_ERR_NOMEM;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return QMS_ERR_DB;
    if (bad)
        QMS_WARN("store: %d booking row(s) unreadable, ignored", bad);
    return QMS_OK;
}

int ctl_booking_init(qms_ctl *c)
{
    char err[256];
    struct ctl_booking *b = qms_calloc(1, sizeof *b);
    if (!b)
        return QMS_ERR_NOMEM;
    c->bk = b;
    if (bk_cfg_load(c->config_path, &b->cfg, err, sizeof err)) {
        QMS_ERROR("config: %s", err);
        return QMS_ERR_INVAL;
    }
    char path[600];
    if (b->cfg.key_file[0])
        snprintf(path, sizeof path, "%s", b->cfg.key_file);
    else
        snprintf(path, sizeof path, "%s.booking-key", c->db_path);
    int rc = read_or_make_key(path, b->key);
    if (rc)
        return rc;
    rc = load_set(c);
    if (rc)
        return rc;
    qms_store_set_hook(c->store, write_dirty, b);
    if (b->cfg.enabled)
        QMS_INFO("bookings: %d loaded; slots of %d min, %d a slot, %d days ahead, rank %s",
                 b->set.n, b->cfg.slot_min, b->cfg.capacity, b->cfg.days_ahead,
                 b->cfg.rank_ahead ? "ahead" : "equal");
    return QMS_OK;
}

int ctl_booking_reload(qms_ctl *c)
{
    return c->bk ? load_set(c) : QMS_OK;
}

int ctl_booking_reload_config(qms_ctl *c)
{
    char err[256];
    bk_cfg nc;
    if (bk_cfg_load(c->config_path, &nc, err, sizeof err)) {
        QMS_ERROR("reload: %s (keeping the booking rules)", err);
        return QMS_ERR_INVAL;
    }
    /* the key file stays the one the bookings were made with */
    memcpy(nc.key_file, c->bk->cfg.key_file, sizeof nc.key_file);
    c->bk->cfg = nc;
    return QMS_OK;
}

void ctl_booking_free(qms_ctl *c)
{
    if (!c->bk)
        return;
    bk_set_free(&c->bk->set);
    OPENSSL_cleanse(c->bk->key, sizeof c->bk->key);
    qms_free(c->bk);
    c->bk = NULL;
}

int ctl_booking_rank_ahead(const qms_ctl *c)
{
    return c->bk->cfg.rank_ahead;
}

/* ---- requests ---- */

static void now_local(qms_ctl *c, int32_t *today, int32_t *now_s)
{
    int64_t now = qms_now(&c->clock);
    *today = qms_engine_day(c->eng);
    *now_s = qms_local_sec(now, c->cfg->utc_offset_min);
    /* a day that started at day_reset: seconds past midnight of the same day */
}

static void say(qms_ctl *c, const qms_request *r, const char *vi, const char *en)
{
    snprintf(c->refusal, sizeof c->refusal, "%s", r->en ? en : vi);
}

static void add_window(qms_ctl *c, cJSON *o, int32_t slot_s)
{
    int32_t from, to;
    bk_window(&c->bk->cfg, slot_s, &from, &to);
    char a[8], b[8];
    qms_proto_hhmm(from, a, sizeof a);
    qms_proto_hhmm(to, b, sizeof b);
    cJSON *w = cJSON_AddArrayToObject(o, "window");
    if (w) {
        cJSON_AddItemToArray(w, cJSON_CreateString(a));
        cJSON_AddItemToArray(w, cJSON_CreateString(b));
    }
}

static int slots(qms_ctl *c, const qms_request *r, cJSON *o)
{
    struct ctl_booking *b = c->bk;
    int si = qms_config_service_index(c->cfg, r->service);
    if (si < 0)
        return QMS_ERR_UNKNOWN_SERVICE;
    int32_t today, now_s, day;
    now_local(c, &today, &now_s);
    if (qms_day_parse(r->day, &day) || day < today || day > today + b->cfg.days_ahead)
        return QMS_ERR_BAD_DAY;
    int32_t starts[BK_MAX_SLOTS];
    int n = bk_slots(&b->cfg, c->cfg, si, day, starts, BK_MAX_SLOTS);
    cJSON_AddStringToObject(o, "service", c->cfg->services[si].code);
    cJSON_AddStringToObject(o, "day", r->day);
    if (n == 0) /* the calendar closes the day (a holiday, a Sunday) for this service */
        cJSON_AddTrueToObject(o, "closed");
    cJSON *a = cJSON_AddArrayToObject(o, "slots");
    for (int i = 0; a && i < n; i++) {
        int32_t from, to;
        bk_window(&b->cfg, starts[i], &from, &to);
        if (day == today && now_s > to)
            continue; /* its check-in window is over */
        int fr = b->cfg.capacity - bk_taken(&b->set, c->cfg->services[si].code, day, starts[i]);
        cJSON *s = cJSON_CreateObject();
        if (!s || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            return QMS_ERR_NOMEM;
        }
        char hm[8];
        qms_proto_hhmm(starts[i], hm, sizeof hm);
        cJSON_AddStringToObject(s, "slot", hm);
        cJSON_AddNumberToObject(s, "free", fr < 0 ? 0 : fr);
    }
    return QMS_OK;
}

static int make(qms_ctl *c, const qms_request *r, cJSON *o)
{
    struct ctl_booking *b = c->bk;
    /* first: every make counts, refused or not (made-up numbers are cheap) */
    int retry_s = 0;
    if (!rate_ok(b, c->req_client, qms_mono_ms(), &retry_s)) {
        char vi[200], en[200];
        snprintf(vi, sizeof vi,
                 "Quá nhiều yêu cầu đặt lịch từ máy này (tối đa %d mỗi phút); vui lòng thử lại "
                 "sau %d giây",
                 b->cfg.make_per_min, retry_s);
        snprintf(en, sizeof en,
                 "Too many booking requests from this device (at most %d a minute); please try "
                 "again in %d seconds",
                 b->cfg.make_per_min, retry_s);
        say(c, r, vi, en);
        c->refusal_retry_s = retry_s;
        QMS_WARN("booking/make from client '%s' refused: more than %d a minute", c->req_client,
                 b->cfg.make_per_min);
        return QMS_ERR_RATE_LIMITED;
    }
    int si = qms_config_service_index(c->cfg, r->service);
    if (si < 0)
        return QMS_ERR_UNKNOWN_SERVICE;
    if (!bk_cccd_valid(r->cccd))
        return QMS_ERR_BAD_CCCD;
    int32_t today, now_s, day, slot_s;
    now_local(c, &today, &now_s);
    if (qms_day_parse(r->day, &day))
        return QMS_ERR_BAD_DAY;
    if (qms_hhmm_parse(r->slot, &slot_s) || strlen(r->slot) != 5)
        return QMS_ERR_BAD_SLOT;
    bk_sweep(&b->set, &b->cfg, today, now_s);
    char hash[65], code[9];
    cccd_hash(b, r->cccd, hash);
    /* a fresh code: unique among the bookings kept in memory and in the store */
    sqlite3 *db = qms_store_db(c->store);
    for (int tries = 0;; tries++) {
        uint64_t bits;
        if (getrandom(&bits, sizeof bits, 0) != (ssize_t)sizeof bits || tries > 20)
            return QMS_ERR_IO;
        qms_bookcode_make(bits, code);
        if (bk_find_code(&b->set, code))
            continue;
        sqlite3_stmt *st = NULL;
        int found = 0;
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM bookings WHERE code = ?1", -1, &st, NULL) !=
            SQLITE_OK)
            return QMS_ERR_DB;
        sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (!found)
            break;
    }
    bk_entry *e = NULL;
    int rc = bk_make(&b->set, &b->cfg, c->cfg, si, day, slot_s, hash, code, today, now_s,
                     qms_now(&c->clock), &e);
    if (rc == QMS_ERR_BAD_DAY && day >= today && day <= today + b->cfg.days_ahead) {
        /* in the window: the calendar closes that day (bk_make found no slots) */
        char ds[11], vi[200], en[200];
        qms_span h[QMS_MAX_SPANS];
        qms_day_str(day, ds);
        if (qms_calendar_day(c->cfg, -1, day, h) == 0) {
            snprintf(vi, sizeof vi, "Ngày %s trung tâm nghỉ, không nhận đặt lịch", ds);
            snprintf(en, sizeof en, "The center is closed on %s: no bookings that day", ds);
        } else {
            const char *sc = c->cfg->services[si].code;
            snprintf(vi, sizeof vi, "Ngày %s dịch vụ %s không nhận hồ sơ, không nhận đặt lịch",
                     ds, sc);
            snprintf(en, sizeof en, "Service %s is not open on %s: no bookings that day", sc,
                     ds);
        }
        say(c, r, vi, en);
    } else if (rc == QMS_ERR_BAD_DAY) {
        char last[11];
        qms_day_str(today + b->cfg.days_ahead, last);
        char vi[160], en[160];
        snprintf(vi, sizeof vi, "Chỉ đặt lịch được từ hôm nay đến %s", last);
        snprintf(en, sizeof en, "Bookings are open from today to %s", last);
        say(c, r, vi, en);
    } else if (rc == QMS_ERR_BOOKING_LIMIT) {
        char vi[160], en[160];
        snprintf(vi, sizeof vi, "Mỗi người chỉ được đặt tối đa %d lịch trong một ngày",
                 b->cfg.max_per_day);
        snprintf(en, sizeof en, "At most %d bookings per person a day", b->cfg.max_per_day);
        say(c, r, vi, en);
    }
    if (rc)
        return rc;
    const qms_service *s = &c->cfg->services[si];
    char shown[10];
    qms_bookcode_format(e->code, shown);
    cJSON_AddStringToObject(o, "code", e->code);
    cJSON_AddStringToObject(o, "code_display", shown);
    cJSON_AddStringToObject(o, "service", s->code);
    cJSON_AddStringToObject(o, "service_name_vi", s->name_vi ? s->name_vi : "");
    cJSON_AddStringToObject(o, "service_name_en", s->name_en ? s->name_en : "");
    cJSON_AddStringToObject(o, "day", r->day);
    cJSON_AddStringToObject(o, "slot", r->slot);
    add_window(c, o, e->slot_s);
    QMS_INFO("booking %lld made: %s %s %s", (long long)e->id, s->code, r->day, r->slot);
    return QMS_OK;
}

static int cancel(qms_ctl *c, const qms_request *r, cJSON *o)
{
    struct ctl_booking *b = c->bk;
    if (!bk_cccd_valid(r->cccd))
        return QMS_ERR_BAD_CCCD;
    char code[9], hash[65];
    if (!qms_bookcode_parse(r->code, code))
        return QMS_ERR_UNKNOWN_BOOKING;
    bk_entry *e = bk_find_code(&b->set, code);
    cccd_hash(b, r->cccd, hash);
    /* the code and the number must both match: a code alone (read over a
     * shoulder, guessed) cancels nobody's booking */
    if (!e || CRYPTO_memcmp(e->hash, hash, 64) != 0)
        return QMS_ERR_UNKNOWN_BOOKING;
    int32_t today, now_s;
    now_local(c, &today, &now_s);
    bk_sweep(&b->set, &b->cfg, today, now_s);
    if (e->state == BK_CHECKED_IN)
        return QMS_ERR_APPT_USED;
    if (e->state == BK_NO_SHOW)
        return QMS_ERR_APPT_LATE;
    if (e->state == BK_BOOKED) {
        e->state = BK_CANCELLED;
        e->dirty = 1;
        QMS_INFO("booking %lld cancelled", (long long)e->id);
    }
    char day[11], slot[8];
    qms_day_str(e->day, day);
    qms_proto_hhmm(e->slot_s, slot, sizeof slot);
    cJSON_AddStringToObject(o, "code", e->code);
    cJSON_AddStringToObject(o, "service", e->service);
    cJSON_AddStringToObject(o, "day", day);
    cJSON_AddStringToObject(o, "slot", slot);
    cJSON_AddStringToObject(o, "booking_state", bk_state_name(e->state));
    return QMS_OK;
}

int ctl_booking_execute(qms_ctl *c, const qms_request *r, void *reply)
{
    if (!c->bk->cfg.enabled) {
        say(c, r, "Trung tâm không nhận đặt lịch trực tuyến",
            "This center does not take bookings");
        return QMS_ERR_UNKNOWN_OP;
    }
    switch (r->op) {
    case QMS_OP_BOOK_SLOTS:
        return slots(c, r, reply);
    case QMS_OP_BOOK_MAKE:
        return make(c, r, reply);
    case QMS_OP_BOOK_CANCEL:
        return cancel(c, r, reply);
    default:
        return QMS_ERR_UNKNOWN_OP;
    }
}

/* ---- check-in on ticket/take ---- */

int ctl_booking_checkin_find(qms_ctl *c, const qms_request *r, void **out)
{
    struct ctl_booking *b = c->bk;
    *out = NULL;
    int32_t today, now_s;
    now_local(c, &today, &now_s);
    bk_sweep(&b->set, &b->cfg, today, now_s);
    const char *svc = r->service[0] ? r->service : NULL;
    if (svc && qms_config_service_index(c->cfg, svc) < 0)
        return QMS_ERR_UNKNOWN_SERVICE;
    bk_entry *e = NULL;
    if (r->cccd[0]) {
        if (!bk_cccd_valid(r->cccd))
            return QMS_ERR_BAD_CCCD;
        char hash[65];
        cccd_hash(b, r->cccd, hash);
        e = bk_find_citizen_today(&b->set, &b->cfg, hash, svc, today, now_s);
        if (!e) {
            say(c, r, "Không tìm thấy lịch hẹn hôm nay cho số CCCD này",
                "No booking today for this CCCD number");
            return QMS_ERR_APPT_UNKNOWN;
        }
    } else {
        char code[9];
        if (!qms_bookcode_parse(r->appt, code) || !(e = bk_find_code(&b->set, code)))
            return QMS_ERR_APPT_UNKNOWN;
    }
    int rc = bk_checkin_check(&b->cfg, e, svc, today, now_s);
    if (rc == QMS_ERR_APPT_EARLY || rc == QMS_ERR_APPT_LATE) {
        int32_t from, to;
        bk_window(&b->cfg, e->slot_s, &from, &to);
        char s[8], f[8], t[8];
        qms_proto_hhmm(e->slot_s, s, sizeof s);
        qms_proto_hhmm(from, f, sizeof f);
        qms_proto_hhmm(to, t, sizeof t);
        if (rc == QMS_ERR_APPT_EARLY)
            snprintf(c->refusal, sizeof c->refusal,
                     r->en ? "Too early: your booking is at %s; please check in from %s to %s."
                           : "Chưa đến giờ: lịch hẹn của bạn lúc %s; vui lòng lấy số từ %s đến "
                             "%s.",
                     s, f, t);
        else
            snprintf(c->refusal, sizeof c->refusal,
                     r->en ? "Too late: your booking was at %s and check-in closed at %s. "
                             "Please take a normal number."
                           : "Đã quá giờ: lịch hẹn của bạn lúc %s, hạn lấy số đến %s. Vui lòng "
                             "lấy số thường.",
                     s, t);
        c->refusal_window[0] = from;
        c->refusal_window[1] = to;
        c->refusal_has_window = 1;
    } else if (rc == QMS_ERR_APPT_WRONG_SERVICE) {
        char vi[160], en[160];
        snprintf(vi, sizeof vi, "Lịch hẹn này dành cho dịch vụ %s", e->service);
        snprintf(en, sizeof en, "This booking is for service %s", e->service);
        say(c, r, vi, en);
    }
    if (rc)
        return rc;
    *out = e;
    return QMS_OK;
}

const char *ctl_booking_service(const void *e)
{
    return ((const bk_entry *)e)->service;
}

const char *ctl_booking_code(const void *e)
{
    return ((const bk_entry *)e)->code;
}

void ctl_booking_checked_in(qms_ctl *c, void *ev, int64_t ticket_id, void *reply)
{
    bk_entry *e = ev;
    e->state = BK_CHECKED_IN;
    e->ticket_id = ticket_id;
    e->dirty = 1;
    char slot[8];
    qms_proto_hhmm(e->slot_s, slot, sizeof slot);
    cJSON_AddTrueToObject(reply, "booked");
    cJSON_AddStringToObject(reply, "slot", slot);
    (void)c;
}
