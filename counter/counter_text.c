#include "counter_text.h"

#include "qms/mqtt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name, *vi, *en;
} cstates[] = {
    {"open", "đang mở", "open"},
    {"paused", "tạm dừng", "paused"},
    {"closed", "đã đóng", "closed"},
};

static const struct {
    const char *name, *vi, *en;
} tstates[] = {
    {"waiting", "đang chờ", "waiting"},
    {"called", "đã gọi, chờ khách đến", "called, waiting for the citizen"},
    {"serving", "đang phục vụ", "being served"},
    {"done", "đã xong", "done"},
    {"noshow", "vắng mặt", "did not come"},
    {"cancelled", "đã hủy", "cancelled"},
};

const char *counter_cstate_text(const char *state, int en)
{
    for (size_t i = 0; i < sizeof cstates / sizeof cstates[0]; i++)
        if (state && strcmp(state, cstates[i].name) == 0)
            return en ? cstates[i].en : cstates[i].vi;
    return state && *state ? state : (en ? "unknown" : "không rõ");
}

const char *counter_tstate_text(const char *tstate, int en)
{
    for (size_t i = 0; i < sizeof tstates / sizeof tstates[0]; i++)
        if (tstate && strcmp(tstate, tstates[i].name) == 0)
            return en ? tstates[i].en : tstates[i].vi;
    return tstate && *tstate ? tstate : "";
}

const char *counter_service_name(const qms_config *cfg, const char *code, int en)
{
    if (cfg && code) {
        int si = qms_config_service_index(cfg, code);
        if (si >= 0) {
            const qms_service *s = &cfg->services[si];
            const char *n = en ? s->name_en : s->name_vi;
            if (n && *n)
                return n;
        }
    }
    return code ? code : "";
}

const char *counter_counter_name(const qms_config *cfg, int counter, int en, char *buf, size_t cap)
{
    if (cfg) {
        int ci = qms_config_counter_index(cfg, counter);
        if (ci >= 0) {
            const char *n = en ? cfg->counters[ci].name_en : cfg->counters[ci].name_vi;
            if (n && *n)
                return n;
        }
    }
    snprintf(buf, cap, en ? "Counter %d" : "Quầy %d", counter);
    return buf;
}

/* Append printf text to out (bounded). */
static void add(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *out, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(out);
    if (n + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, cap - n, fmt, ap);
    va_end(ap);
}

/* " (Tư pháp - Hộ tịch)" when the reply named a service. */
static void add_service(char *out, size_t cap, const qms_config *cfg, const char *code, int en)
{
    if (code && *code)
        add(out, cap, " (%s)", counter_service_name(cfg, code, en));
}

static void add_waiting(char *out, size_t cap, int waiting, int en)
{
    if (waiting < 0)
        return;
    if (en)
        add(out, cap, " %d waiting.", waiting);
    else if (waiting == 0)
        add(out, cap, " Không còn khách chờ.");
    else
        add(out, cap, " Còn %d khách chờ.", waiting);
}

void counter_describe(const counter_req *r, const counter_info *rep, const qms_config *cfg,
                      int counter, int en, char *out, size_t cap)
{
    char nbuf[48];
    const char *cname = counter_counter_name(cfg, rep->counter >= 0 ? rep->counter : counter, en,
                                             nbuf, sizeof nbuf);
    const char *t = rep->ticket[0] ? rep->ticket : "?";
    out[0] = 0;
    switch (r->op) {
    case COUNTER_OP_NEXT:
    case COUNTER_OP_CALL:
        add(out, cap, en ? "Calling %s to %s" : "Mời số %s đến %s", t, cname);
        add_service(out, cap, cfg, rep->service, en);
        add(out, cap, ".");
        add_waiting(out, cap, rep->waiting, en);
        break;
    case COUNTER_OP_RECALL:
        add(out, cap, en ? "Called %s again to %s." : "Đã gọi lại số %s đến %s.", t, cname);
        break;
    case COUNTER_OP_START:
        add(out, cap, en ? "Serving %s" : "Bắt đầu phục vụ số %s", t);
        add_service(out, cap, cfg, rep->service, en);
        add(out, cap, ".");
        break;
    case COUNTER_OP_DONE:
        add(out, cap, en ? "Finished %s." : "Đã phục vụ xong số %s.", t);
        add_waiting(out, cap, rep->waiting, en);
        break;
    case COUNTER_OP_SKIP:
        add(out, cap,
            en ? "%s marked as not present (can be called again with \"call %s\")."
               : "Đã ghi số %s vắng mặt (có thể gọi lại bằng lệnh \"call %s\").",
            t, t);
        add_waiting(out, cap, rep->waiting, en);
        break;
    case COUNTER_OP_TRANSFER: {
        const char *svc = r->to_service[0] ? r->to_service : rep->service;
        add(out, cap, en ? "Transferred %s" : "Đã chuyển số %s", t);
        if (svc && *svc)
            add(out, cap, en ? " to %s" : " sang %s", counter_service_name(cfg, svc, en));
        if (r->to_counter > 0) {
            char b2[48];
            add(out, cap, en ? ", %s" : ", %s",
                counter_counter_name(cfg, r->to_counter, en, b2, sizeof b2));
        }
        add(out, cap, en ? "; it keeps its place in the queue." : "; số giữ nguyên thứ tự chờ.");
        break;
    }
    case COUNTER_OP_RATE: {
        int levels = cfg ? cfg->rating_levels : 4;
        add(out, cap, en ? "Rating %d (%s) recorded" : "Đã ghi đánh giá %d (%s)", r->level,
            qms_rating_text(r->level, levels, en));
        if (rep->ticket[0])
            add(out, cap, en ? " for %s" : " cho số %s", rep->ticket);
        add(out, cap, ".");
        break;
    }
    case COUNTER_OP_PAUSE:
        add(out, cap,
            en ? "%s is paused: no calls until resumed."
               : "%s tạm dừng: không gọi số cho đến khi tiếp tục.",
            cname);
        break;
    case COUNTER_OP_RESUME:
        add(out, cap, en ? "%s is open again." : "%s đã mở lại.", cname);
        add_waiting(out, cap, rep->waiting, en);
        break;
    case COUNTER_OP_CLOSE:
        add(out, cap, en ? "%s is closed." : "%s đã đóng.", cname);
        break;
    case COUNTER_OP_OPEN: {
        /* the reply may leave the staff out; accepted means it is what we sent */
        const char *staff = rep->staff[0] ? rep->staff : r->staff;
        add(out, cap, en ? "%s is open" : "%s đã mở", cname);
        if (staff[0])
            add(out, cap, en ? " (staff: %s)" : " (nhân viên: %s)", staff);
        add(out, cap, ".");
        add_waiting(out, cap, rep->waiting, en);
        break;
    }
    case COUNTER_OP_STATUS:
    default:
        add(out, cap, "%s: %s", cname, counter_cstate_text(rep->state, en));
        if (rep->staff[0])
            add(out, cap, en ? ", staff %s" : ", nhân viên %s", rep->staff);
        add(out, cap, ".");
        /* "current", when the reply has it, is the counter's ticket now;
         * "ticket" is the one the op acted on */
        const char *cur = rep->has_current ? rep->current : rep->ticket;
        int same = strcmp(cur, rep->ticket) == 0;
        if (cur[0]) {
            add(out, cap, en ? " Current ticket %s" : " Số hiện tại %s", cur);
            if (same)
                add_service(out, cap, cfg, rep->service, en);
            if (same && rep->ticket_state[0])
                add(out, cap, ", %s", counter_tstate_text(rep->ticket_state, en));
            add(out, cap, ".");
        } else {
            add(out, cap, en ? " No current ticket." : " Chưa gọi số nào.");
        }
        add_waiting(out, cap, rep->waiting, en);
        break;
    }
}

size_t counter_text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80 && *p >= 0x20 && *p != 0x7F)
            w++;
    return w;
}

void counter_text_fit(const char *s, size_t cols, char *out, size_t cap)
{
    /* Text from the network ends up on a terminal: control characters (C0,
     * DEL, and the C1 range U+0080..U+009F) are dropped so a name cannot
     * move the cursor or change the terminal; a broken UTF-8 sequence
     * becomes '?'. */
    size_t w = 0, o = 0;
    const unsigned char *p = (const unsigned char *)s;
    if (cap == 0)
        return;
    while (*p) {
        size_t len = 1;
        if (*p >= 0xF0 && *p <= 0xF4)
            len = 4;
        else if (*p >= 0xE0 && *p <= 0xEF)
            len = 3;
        else if (*p >= 0xC2 && *p <= 0xDF)
            len = 2;
        else if (*p >= 0x80)
            len = 0; /* continuation or invalid lead byte */
        size_t k = 1;
        while (len && k < len && (p[k] & 0xC0) == 0x80)
            k++;
        if (len == 0 || k < len) {
            /* invalid: one '?' for the bad byte(s) */
            if (w + 1 > cols || o + 2 > cap)
                break;
            out[o++] = '?';
            w++;
            p += len == 0 ? 1 : k;
            continue;
        }
        int control =
            (len == 1 && (*p < 0x20 || *p == 0x7F)) || (len == 2 && p[0] == 0xC2 && p[1] < 0xA0);
        if (control) {
            p += len;
            continue;
        }
        if (w + 1 > cols || o + len + 1 > cap)
            break;
        memcpy(out + o, p, len);
        o += len;
        w++;
        p += len;
    }
    out[o] = 0;
}

const char *counter_service_of_label(const qms_config *cfg, const char *label)
{
    if (!cfg || !label)
        return NULL;
    for (int i = 0; i < cfg->nservices; i++) {
        const qms_service *s = &cfg->services[i];
        size_t n = strlen(s->prefix);
        if (n > 0) {
            if (strncmp(label, s->prefix, n) == 0 && label[n] >= '0' && label[n] <= '9')
                return s->code;
        } else if (s->range_hi > 0 && label[0] >= '0' && label[0] <= '9') {
            long v = strtol(label, NULL, 10);
            if (v >= s->range_lo && v <= s->range_hi)
                return s->code;
        }
    }
    return NULL;
}

void counter_ticket_upcase(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

const char *counter_service_code(const qms_config *cfg, const char *typed)
{
    if (!cfg)
        return typed;
    for (int i = 0; i < cfg->nservices; i++)
        if (strcasecmp(cfg->services[i].code, typed) == 0)
            return cfg->services[i].code;
    return typed;
}

void counter_copy(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return;
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memmove(dst, src, n);
    dst[n] = 0;
}

void counter_link_text(int failure, const char *broker, int has_cert, int en, char *out, size_t cap)
{
    if (!broker)
        broker = "";
    switch (failure) {
    case QMS_MQTT_FAIL_TLS_CLIENT_CERT:
        if (has_cert)
            snprintf(out, cap,
                     en ? "The message broker at %s broke off the TLS connection: it did not "
                          "accept this client certificate (--cert; is it signed by the CA the "
                          "broker trusts?)"
                        : "Máy chủ tin nhắn (broker) %s ngắt kết nối TLS: không chấp nhận chứng "
                          "chỉ máy khách này (--cert; chứng chỉ có do CA mà broker tin cậy ký "
                          "không?)",
                     broker);
        else
            snprintf(out, cap,
                     en ? "The message broker at %s broke off the TLS connection: it requires a "
                          "client certificate. Give one with --cert and --key"
                        : "Máy chủ tin nhắn (broker) %s ngắt kết nối TLS: broker yêu cầu chứng "
                          "chỉ máy khách. Hãy cho chứng chỉ bằng --cert và --key",
                     broker);
        break;
    case QMS_MQTT_FAIL_TLS:
        snprintf(out, cap,
                 en ? "No TLS connection to the message broker at %s: is its certificate signed "
                      "by --cafile, for this address (and do --cert and --key belong together)?"
                    : "Không thiết lập được kết nối TLS tới máy chủ tin nhắn (broker) %s: chứng "
                      "chỉ của broker có do --cafile ký, cho đúng địa chỉ này không (và --cert, "
                      "--key có khớp nhau không)?",
                 broker);
        break;
    case QMS_MQTT_FAIL_REFUSED:
        snprintf(out, cap,
                 en ? "The message broker at %s refused the login: check --user and --password"
                    : "Máy chủ tin nhắn (broker) %s từ chối đăng nhập: kiểm tra --user và "
                      "--password",
                 broker);
        break;
    default:
        snprintf(out, cap,
                 en ? "Cannot reach the message broker at %s. Is it running, is the address right?"
                    : "Không kết nối được tới máy chủ tin nhắn (broker) %s. Kiểm tra máy chủ "
                      "có đang chạy và địa chỉ có đúng không.",
                 broker);
        break;
    }
}
