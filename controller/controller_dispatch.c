/* Requests -> engine -> replies. One switch on the op (execute); every
 * outcome, success or refusal, becomes a reply in one place (answer). Replies
 * are held until the batch is committed (ctl_flush). */
#include "ctl.h"

#include "qms/alloc.h"
#include "qms/calendar.h"
#include "qms/err.h"
#include "qms/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* ---- reply building ---- */

static void add_label_or_null(cJSON *o, const char *name, const qms_ticket *t)
{
    if (t)
        cJSON_AddStringToObject(o, name, t->label);
    else
        cJSON_AddNullToObject(o, name);
}

static void add_ticket(qms_ctl *c, cJSON *o, const qms_ticket *t)
{
    const qms_config *cfg = c->cfg;
    cJSON_AddStringToObject(o, "ticket", t->label);
    cJSON_AddNumberToObject(o, "id", (double)t->id);
    cJSON_AddStringToObject(o, "ticket_state", qms_tstate_name(t->state));
    if (t->service >= 0 && t->service < cfg->nservices)
        cJSON_AddStringToObject(o, "service", cfg->services[t->service].code);
}

/* The counter's state after an op, plus the ticket the op acted on (acted may be NULL). */
static void counter_reply(qms_ctl *c, cJSON *o, int ci, const qms_ticket *acted)
{
    ctl_scan_journal(c); /* waiting counts after this op */
    const qms_counter_state *cs = qms_engine_counter(c->eng, ci);
    const qms_ticket *cur = cs->current ? qms_engine_ticket(c->eng, cs->current) : NULL;
    cJSON_AddNumberToObject(o, "counter", c->cfg->counters[ci].id);
    cJSON_AddStringToObject(o, "state", qms_cstate_name(cs->state));
    if (!acted)
        acted = cur;
    if (acted)
        add_ticket(c, o, acted);
    add_label_or_null(o, "current", cur);
    cJSON_AddNumberToObject(o, "waiting", ctl_counter_waiting(c, ci));
}

/* An outside_hours refusal that says when: the service's issuing hours
 * (today's, or those of its next open day when it is closed all day), the
 * next opening today, and the next opening on any day from the calendar, in
 * the message and as fields of the reply (a citizen at a kiosk at 11:40
 * wants to know it opens again at 13:30; on a Sunday, that it is Monday). */
static void refuse_hours(qms_ctl *c, const qms_request *r, int si)
{
    const qms_config *cfg = c->cfg;
    int64_t now_ms = qms_now(&c->clock);
    int32_t today = qms_local_day(now_ms, cfg->utc_offset_min);
    qms_span *h = c->refusal_span;
    int n = qms_calendar_day(cfg, si, today, h);
    int open_today = n > 0;
    int32_t nday = -1, nsec = -1;
    int found = qms_calendar_next_open(cfg, si, now_ms, &nday, &nsec);
    c->refusal_next_at[0] = '\0';
    if (found) {
        char d[11], hm[6];
        qms_day_str(nday, d);
        qms_hhmm_str(nsec, hm);
        snprintf(c->refusal_next_at, sizeof c->refusal_next_at, "%s %s", d, hm);
    }
    if (n == 0 && found) /* closed all day: the hours of the day it opens */
        n = qms_calendar_day(cfg, si, nday, h);
    int32_t next = -1;
    char list[8 * QMS_MAX_SPANS * 2] = "";
    for (int i = 0; i < n; i++) {
        char from[16], to[16];
        size_t len = strlen(list);
        qms_proto_hhmm(h[i].open_s, from, sizeof from);
        qms_proto_hhmm(h[i].close_s, to, sizeof to);
        snprintf(list + len, sizeof list - len, "%s%s-%s", i ? ", " : "", from, to);
    }
    if (found && nday == today)
        next = nsec;
    char at[16] = "";
    if (next >= 0)
        qms_proto_hhmm(next, at, sizeof at);
    char words[96]; /* "Hôm nay đã hết giờ, mở lại Chủ nhật 07/12 07:30": ~55 bytes */
    qms_calendar_next_words(cfg, si, now_ms, r->en, words, sizeof words);
    if (next >= 0) {
        if (r->en)
            snprintf(c->refusal, sizeof c->refusal,
                     "This service is not open now. Issuing hours: %s; next opening today at %s.",
                     list, at);
        else
            snprintf(c->refusal, sizeof c->refusal,
                     "Dịch vụ hiện không nhận hồ sơ (ngoài giờ). Giờ cấp số: %s; hôm nay mở lúc "
                     "%s.",
                     list, at);
    } else if (open_today) {
        /* open today, but no more: lower-case the words after the ';' */
        if (words[0] == 'H' || words[0] == 'C')
            words[0] = (char)(words[0] - 'A' + 'a');
        if (r->en)
            snprintf(c->refusal, sizeof c->refusal,
                     "This service is not open now. Issuing hours: %s; %s.", list, words);
        else
            snprintf(c->refusal, sizeof c->refusal,
                     "Dịch vụ hiện không nhận hồ sơ (ngoài giờ). Giờ cấp số: %s; %s.", list,
                     words);
    } else {
        if (r->en)
            snprintf(c->refusal, sizeof c->refusal, "%s. Issuing hours: %s.", words, list);
        else
            snprintf(c->refusal, sizeof c->refusal, "%s. Giờ cấp số: %s.", words, list);
    }
    c->refusal_hours = n > 0 ? h : NULL;
    c->refusal_nhours = n;
    c->refusal_next_open_s = next;
}

static int take(qms_ctl *c, const qms_request *r, cJSON *o)
{
    /* a check-in: a valid booking code or the CCCD number of a citizen
     * booked today; the service comes from the booking */
    void *bk = NULL;
    if (r->appt[0] || r->cccd[0]) {
        int brc = ctl_booking_checkin_find(c, r, &bk);
        if (brc)
            return brc;
    }
    int si = qms_config_service_index(c->cfg, bk ? ctl_booking_service(bk) : r->service);
    if (si < 0)
        return QMS_ERR_UNKNOWN_SERVICE;
    if (c->disk_low) {
        /* the last of the disk is kept for calling and serving those who
         * wait; a retry (the same req) works once there is room again */
        snprintf(c->refusal, sizeof c->refusal, "%s",
                 r->en ? "Not issuing tickets now: the server's disk is nearly full. Please "
                         "try again later."
                       : "Tạm thời không cấp số: ổ đĩa của máy chủ gần đầy. Vui lòng thử lại "
                         "sau.");
        return QMS_ERR_DB;
    }
    qms_take_result tr;
    /* "ahead": the engine's appointment class (2, served first); "equal": a
     * normal ticket, the booking only got the citizen through the door */
    int ahead = bk && ctl_booking_rank_ahead(c);
    int rc = qms_engine_take_kind(c->eng, si, bk ? (ahead ? 2 : 0) : r->priority,
                                  bk ? NULL : r->priority_kind, ahead ? ctl_booking_code(bk) : NULL,
                                  &tr);
    if (rc == QMS_ERR_OUTSIDE_HOURS)
        refuse_hours(c, r, si);
    if (rc)
        return rc;
    const qms_ticket *t = tr.ticket;
    const qms_service *s = &c->cfg->services[si];
    char day[11];
    qms_day_str(t->day, day);
    cJSON_AddStringToObject(o, "ticket", t->label);
    cJSON_AddNumberToObject(o, "id", (double)t->id);
    cJSON_AddStringToObject(o, "service", s->code);
    cJSON_AddStringToObject(o, "service_name_vi", s->name_vi ? s->name_vi : "");
    cJSON_AddStringToObject(o, "service_name_en", s->name_en ? s->name_en : "");
    cJSON_AddNumberToObject(o, "priority", t->priority);
    cJSON_AddNumberToObject(o, "ahead", tr.ahead);
    cJSON_AddNumberToObject(o, "eta_s", tr.eta_s);
    cJSON_AddNumberToObject(o, "taken_ms", (double)t->taken_ms);
    cJSON_AddStringToObject(o, "day", day);
    ctl_ticket_take_fields(c, t, o);
    if (bk)
        ctl_booking_checked_in(c, bk, t->id, o);
    if (r->kiosk[0])
        QMS_DEBUG("kiosk %s took %s", r->kiosk, t->label);
    return QMS_OK;
}

/* ---- bad_state in words: why the state does not allow it (issue 11 #5) ---- */

/* A ticket that is not waiting, cannot be <verb>: say what it is instead. */
static void ticket_not_waiting(qms_ctl *c, const qms_request *r, const qms_ticket *t,
                               const char *verb_vi, const char *verb_en)
{
    const qms_config *cfg = c->cfg;
    int at = t->counter >= 0 && t->counter < cfg->ncounters ? cfg->counters[t->counter].id : 0;
    char *m = c->refusal;
    size_t n = sizeof c->refusal;
    switch (t->state) {
    case QMS_T_CALLED:
        snprintf(m, n,
                 r->en ? "%s is already called at counter %d: it cannot be %s"
                       : "Số %s đang được gọi ở Quầy %d: không thể %s",
                 t->label, at, r->en ? verb_en : verb_vi);
        break;
    case QMS_T_SERVING:
        snprintf(m, n,
                 r->en ? "%s is already being served at counter %d: it cannot be %s"
                       : "Số %s đang được phục vụ ở Quầy %d: không thể %s",
                 t->label, at, r->en ? verb_en : verb_vi);
        break;
    case QMS_T_DONE:
        snprintf(m, n,
                 r->en ? "%s was already served (counter %d): it cannot be %s"
                       : "Số %s đã được phục vụ xong (Quầy %d): không thể %s",
                 t->label, at, r->en ? verb_en : verb_vi);
        break;
    case QMS_T_NOSHOW:
        snprintf(m, n,
                 r->en ? "%s was skipped as a no-show more than %d min ago: it cannot be %s; "
                         "the citizen takes a new number"
                       : "Số %s đã bị bỏ qua (vắng mặt) quá %d phút: không thể %s; công dân "
                         "lấy số mới",
                 t->label, cfg->noshow_window_s / 60, r->en ? verb_en : verb_vi);
        break;
    case QMS_T_CANCELLED:
        snprintf(m, n,
                 r->en ? "%s was cancelled: it cannot be %s"
                       : "Số %s đã bị hủy: không thể %s",
                 t->label, r->en ? verb_en : verb_vi);
        break;
    default:
        break;
    }
}

/* A counter op refused bad_state: the counter's state (unchanged by the
 * refusal) says why. */
static void explain_bad_state(qms_ctl *c, const qms_request *r, int ci)
{
    const qms_counter_state *cs = qms_engine_counter(c->eng, ci);
    const qms_ticket *cur = cs->current ? qms_engine_ticket(c->eng, cs->current) : NULL;
    int id = r->counter, en = r->en;
    char *m = c->refusal;
    size_t n = sizeof c->refusal;
    const char *st_vi = cs->state == QMS_C_PAUSED ? "tạm dừng" : "đóng";
    const char *st_en = cs->state == QMS_C_PAUSED ? "paused" : "closed";
    switch (r->op) {
    case QMS_OP_RECALL:
    case QMS_OP_START:
    case QMS_OP_SKIP:
        if (!cur)
            snprintf(m, n,
                     en ? "counter %d has no ticket called: press next (or call a number) first"
                        : "Quầy %d không có số nào đang gọi: hãy gọi số tiếp theo trước.",
                     id);
        else if (r->op == QMS_OP_SKIP)
            snprintf(m, n,
                     en ? "counter %d is already serving %s: a citizen being served is no "
                          "no-show; finish it (done) instead"
                        : "Quầy %d đang phục vụ số %s: công dân đang được phục vụ không thể bị "
                          "bỏ qua; hãy bấm hoàn thành.",
                     id, cur->label);
        else
            snprintf(m, n,
                     en ? "counter %d is already serving %s: it was called and has sat down"
                        : "Quầy %d đang phục vụ số %s: công dân đã đến quầy.",
                     id, cur->label);
        break;
    case QMS_OP_DONE:
        snprintf(m, n,
                 en ? "counter %d has no ticket called or being served: nothing to finish"
                    : "Quầy %d không có số nào đang gọi hay đang phục vụ: không có gì để hoàn "
                      "thành.",
                 id);
        break;
    case QMS_OP_TRANSFER:
        if (!cur)
            snprintf(m, n,
                     en ? "counter %d has no ticket called or being served: nothing to transfer"
                        : "Quầy %d không có số nào đang gọi hay đang phục vụ: không có gì để "
                          "chuyển.",
                     id);
        else
            snprintf(m, n,
                     en ? "%s is already at counter %d for that service: a transfer to itself "
                          "changes nothing"
                        : "Số %s đã ở Quầy %d cho dịch vụ đó: chuyển về chính nó không thay "
                          "đổi gì.",
                     cur->label, id);
        break;
    case QMS_OP_RATE:
        snprintf(m, n,
                 en ? "counter %d has served nobody yet today: there is nobody to rate"
                    : "Quầy %d chưa phục vụ ai hôm nay: chưa có gì để đánh giá.",
                 id);
        break;
    case QMS_OP_PAUSE:
        snprintf(m, n,
                 en ? "counter %d is already %s: only an open counter can pause"
                    : "Quầy %d đang %s: chỉ quầy đang mở mới tạm dừng được.",
                 id, en ? st_en : st_vi);
        break;
    case QMS_OP_RESUME:
        snprintf(m, n, en ? "counter %d is already open" : "Quầy %d đang mở rồi.", id);
        break;
    case QMS_OP_CLOSE:
        if (cur && cur->state == QMS_T_SERVING)
            snprintf(m, n,
                     en ? "counter %d is still serving %s: finish it first"
                        : "Quầy %d vẫn đang phục vụ số %s: hãy hoàn thành trước.",
                     id, cur->label);
        else if (cur)
            snprintf(m, n,
                     en ? "counter %d still has %s called: finish or skip it first"
                        : "Quầy %d vẫn đang gọi số %s: hãy hoàn thành hoặc bỏ qua trước.",
                     id, cur->label);
        else
            snprintf(m, n, en ? "counter %d is already closed" : "Quầy %d đã đóng rồi.", id);
        break;
    case QMS_OP_CALL: {
        const qms_ticket *t = qms_engine_find_label(c->eng, r->ticket);
        if (t)
            ticket_not_waiting(c, r, t, "gọi", "called");
        break;
    }
    default:
        break;
    }
}

static int cancel(qms_ctl *c, const qms_request *r, cJSON *o)
{
    const qms_ticket *t =
        r->id ? qms_engine_ticket(c->eng, r->id) : qms_engine_find_label(c->eng, r->ticket);
    if (!t || (r->id && r->ticket[0] && strcmp(t->label, r->ticket) != 0))
        return QMS_ERR_UNKNOWN_TICKET;
    int64_t id = t->id;
    int rc = qms_engine_cancel(c->eng, id);
    if (rc == QMS_ERR_BAD_STATE)
        ticket_not_waiting(c, r, t, "hủy", "cancelled");
    if (rc)
        return rc;
    t = qms_engine_ticket(c->eng, id);
    if (t)
        add_ticket(c, o, t);
    if (r->reason[0])
        QMS_INFO("ticket %s cancelled (%s)", t ? t->label : "?", r->reason);
    return QMS_OK;
}

/* The one switch on the op. Returns QMS_OK (o filled) or a refusal. */
static int execute(qms_ctl *c, const qms_request *r, cJSON *o)
{
    if (r->op == QMS_OP_TAKE)
        return take(c, r, o);
    if (r->op == QMS_OP_CANCEL)
        return cancel(c, r, o);
    if (r->op == QMS_OP_BOOK_SLOTS || r->op == QMS_OP_BOOK_MAKE || r->op == QMS_OP_BOOK_CANCEL)
        return ctl_booking_execute(c, r, o);

    int ci = qms_config_counter_index(c->cfg, r->counter);
    if (ci < 0)
        return QMS_ERR_UNKNOWN_COUNTER;
    qms_engine *e = c->eng;
    const qms_ticket *t = NULL;
    char finished[16] = "";
    int rc = QMS_OK;
    switch (r->op) {
    case QMS_OP_NEXT: {
        const qms_counter_state *cs = qms_engine_counter(e, ci);
        const qms_ticket *cur = cs->current ? qms_engine_ticket(e, cs->current) : NULL;
        if (cur)
            snprintf(finished, sizeof finished, "%s", cur->label);
        rc = qms_engine_next(e, ci, &t);
        break;
    }
    case QMS_OP_RECALL:
        rc = qms_engine_recall(e, ci, &t);
        break;
    case QMS_OP_CALL:
        rc = qms_engine_call(e, ci, r->ticket, &t);
        break;
    case QMS_OP_START:
        rc = qms_engine_start(e, ci);
        break;
    case QMS_OP_DONE:
        rc = qms_engine_done(e, ci, &t);
        break;
    case QMS_OP_SKIP:
        rc = qms_engine_skip(e, ci, &t);
        break;
    case QMS_OP_TRANSFER: {
        int to_si = -1, to_ci = -1;
        if (r->service[0] && (to_si = qms_config_service_index(c->cfg, r->service)) < 0)
            return QMS_ERR_UNKNOWN_SERVICE;
        if (r->to_counter && (to_ci = qms_config_counter_index(c->cfg, r->to_counter)) < 0)
            return QMS_ERR_UNKNOWN_COUNTER;
        rc = qms_engine_transfer(e, ci, to_si, to_ci, &t);
        break;
    }
    case QMS_OP_RATE:
        if (r->level > c->cfg->rating_levels) {
            /* "invalid request" would not tell the clerk what to press */
            snprintf(c->refusal, sizeof c->refusal,
                     r->en ? "No such rating: the levels are 1 (worst) to %d (best)"
                           : "Không có mức đánh giá này: các mức từ 1 (kém nhất) đến %d (tốt nhất)",
                     c->cfg->rating_levels);
            return QMS_ERR_INVAL;
        }
        if (!r->ticket[0]) {
            rc = qms_engine_rate(e, ci, r->level, &t);
            break;
        }
        rc = qms_engine_rate_ticket(e, ci, r->ticket, r->level, &t);
        if (rc == QMS_ERR_UNKNOWN_TICKET)
            snprintf(c->refusal, sizeof c->refusal,
                     r->en ? "Ticket %s is neither being served nor the last one finished at "
                             "counter %d: the rating is not counted"
                           : "Số %s không phải số đang phục vụ hay số vừa xong ở quầy %d: "
                             "đánh giá không được tính",
                     r->ticket, r->counter);
        else if (rc == QMS_ERR_BAD_STATE)
            snprintf(c->refusal, sizeof c->refusal,
                     r->en ? "Ticket %s finished more than %d minutes ago: too late to rate"
                           : "Số %s đã xong hơn %d phút trước: quá muộn để đánh giá",
                     r->ticket, QMS_RATE_LATE_MS / 60000);
        break;
    case QMS_OP_PAUSE:
        rc = qms_engine_pause(e, ci);
        break;
    case QMS_OP_RESUME:
        rc = qms_engine_resume(e, ci);
        break;
    case QMS_OP_CLOSE:
        rc = qms_engine_close(e, ci);
        break;
    case QMS_OP_OPEN:
        /* With a staff list (center.json "staff"), who opens a counter signs
         * in: a known staff id and its code, else nothing happens. */
        if (c->staff.n > 0 &&
            (!r->has_staff || ctl_staff_check(&c->staff, r->staff, r->code) != QMS_OK)) {
            QMS_WARN("counter %d: sign-in refused for staff \"%s\"", r->counter, r->staff);
            return QMS_ERR_BAD_STAFF;
        }
        /* "open" is resume that also says who is there; open already is fine */
        if (qms_engine_counter(e, ci)->state != QMS_C_OPEN)
            rc = qms_engine_resume(e, ci);
        if (!rc && r->has_staff)
            rc = qms_engine_set_staff(e, ci, r->staff);
        break;
    case QMS_OP_STATUS:
        break;
    default:
        return QMS_ERR_UNKNOWN_OP;
    }
    if (rc == QMS_ERR_BAD_STATE)
        explain_bad_state(c, r, ci);
    if (rc)
        return rc;
    counter_reply(c, o, ci, t);
    if (finished[0] && (!t || strcmp(finished, t->label) != 0))
        cJSON_AddStringToObject(o, "finished", finished);
    if (r->op == QMS_OP_STATUS) {
        ctl_add_counter_fields(c, o, ci, 1);
        /* the controller's clock, to turn the list's taken_ms into waits (a
         * status reply is not remembered, so this is always now) */
        cJSON_AddNumberToObject(o, "at_ms", (double)qms_now(&c->clock));
    }
    return QMS_OK;
}

/* Where every outcome becomes a reply (and is remembered when it must be). */
static void answer(qms_ctl *c, const qms_mqtt_msg *msg, const qms_request *r, const char *key,
                   int rc, cJSON *o)
{
    char *body;
    if (rc == QMS_OK) {
        body = cJSON_PrintUnformatted(o); /* "req" is its first field already */
    } else {
        c->nrefused++;
        body = qms_proto_error_reply_when(r->req, rc, r->en, c->refusal[0] ? c->refusal : NULL,
                                          c->refusal_hours, c->refusal_nhours,
                                          c->refusal_next_open_s, c->refusal_next_at);
        if (body && c->refusal_retry_s > 0) {
            /* rate_limited: when to ask again */
            cJSON *e = cJSON_Parse(body);
            char *nb = e && cJSON_AddNumberToObject(e, "retry_after_s", c->refusal_retry_s)
                           ? cJSON_PrintUnformatted(e)
                           : NULL;
            cJSON_Delete(e);
            if (nb) {
                qms_free(body);
                body = nb;
            }
        }
        if (body && c->refusal_has_window) {
            /* appt_early / appt_late: the check-in window as local times */
            cJSON *e = cJSON_Parse(body);
            cJSON *w = e ? cJSON_AddArrayToObject(e, "window") : NULL;
            for (int i = 0; w && i < 2; i++) {
                char hm[8];
                qms_proto_hhmm(c->refusal_window[i], hm, sizeof hm);
                cJSON_AddItemToArray(w, cJSON_CreateString(hm));
            }
            char *nb = w ? cJSON_PrintUnformatted(e) : NULL;
            cJSON_Delete(e);
            if (nb) {
                qms_free(body);
                body = nb;
            }
        }
    }
    c->refusal_has_window = 0;
    c->refusal_retry_s = 0;
    c->refusal[0] = '\0';
    c->refusal_hours = NULL;
    c->refusal_nhours = 0;
    c->refusal_next_at[0] = '\0';
    if (!body) {
        QMS_ERROR("out of memory building a reply to %s", r->req);
        return;
    }
    if (key) {
        int qrc = qms_store_queue_reply(c->store, key, body);
        if (qrc) {
            /* the change is done in memory but its reply cannot be remembered:
             * do not commit it; restart from the store */
            QMS_ERROR("cannot remember the reply to %s: %s", key, qms_err_code(qrc));
            c->fatal = qrc;
        } else {
            c->nremembered++;
        }
    }
    ctl_batch_add_reply(c, msg, body, key);
}

static void refuse_malformed(qms_ctl *c, const qms_mqtt_msg *msg, const qms_request *r, int rc,
                             const char *why)
{
    c->nmalformed++;
    c->nrefused++;
    QMS_WARN("refused %s on %s (req %s): %s%s", qms_err_code(rc), msg->topic,
             r->req[0] ? r->req : "-", why,
             msg->response_topic ? "" : " (no response topic: no reply)");
    ctl_batch_add_reply(c, msg, qms_proto_error_reply(r->req, rc, r->en), NULL);
}

/* A reply goes only under qms/<site>/reply/<client>: anywhere else it would
 * go out with the controller's rights (a forged call on the hall board, a
 * ghost request on ticket/take). Such a request is refused unexecuted and
 * logged once per response topic (a client that repeats it does not flood
 * the log). Returns 1 when the request must be dropped. */
static int bad_response_topic(qms_ctl *c, const qms_mqtt_msg *msg)
{
    if (!msg->response_topic)
        return 0; /* executed, no reply (docs/protocol.md) */
    qms_rt_check k = qms_proto_reply_topic(msg->response_topic, c->site);
    if (k == QMS_RT_OK)
        return 0;
    c->nbadrt++;
    c->nrefused++;
    uint32_t h = 2166136261u;
    for (const char *p = msg->response_topic; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h |= 1; /* 0 marks an empty slot */
    uint32_t cap = sizeof c->badrt_seen / sizeof *c->badrt_seen;
    for (uint32_t i = h & (cap - 1), n = 0; n < cap; i = (i + 1) & (cap - 1), n++) {
        if (c->badrt_seen[i] == h)
            return 1; /* logged already */
        if (!c->badrt_seen[i]) {
            if (c->nbadrt_seen >= (int)cap / 2)
                break; /* full: log no more topics one by one */
            c->badrt_seen[i] = h;
            c->nbadrt_seen++;
            if (k == QMS_RT_WILDCARD)
                QMS_WARN("refused a request on %s: its response topic \"%.200s\" holds a "
                         "wildcard (+ or #), where no reply can be published (not executed; "
                         "not logged again for this topic)",
                         msg->topic, msg->response_topic);
            else
                QMS_WARN("refused a request on %s: its response topic \"%.200s\" is not under "
                         "qms/%s/reply/<client-id> (not executed; not logged again for this "
                         "topic)",
                         msg->topic, msg->response_topic, c->site);
            if (c->nbadrt_seen == (int)cap / 2)
                QMS_WARN("%d different bad response topics: from now on only counted (%llu so "
                         "far)",
                         c->nbadrt_seen, (unsigned long long)c->nbadrt);
            return 1;
        }
    }
    return 1;
}

/* The counters' session: the same handling, the reply on the same session. */
void ctl_on_cmd_message(void *ud, const qms_mqtt_msg *msg)
{
    qms_ctl *c = ud;
    c->via = c->mqtt_cmd;
    ctl_on_message(ud, msg);
    c->via = NULL;
}

/* The requester's client id from its reply topic (checked by
 * bad_response_topic) into c->req_client: qms/<site>/reply/<client>[/...],
 * or for the booking page qms/<site>/reply/web/<client>[/...] ("web/<client>":
 * the broker's ACL lets each anonymous page read only its own); "" without
 * one. */
static void req_client(qms_ctl *c, const char *rt)
{
    c->req_client[0] = '\0';
    const char *p = rt ? strstr(rt, "/reply/") : NULL;
    if (!p)
        return;
    p += strlen("/reply/");
    size_t n = strcspn(p, "/");
    if (n == 3 && strncmp(p, "web/", 4) == 0 && p[4])
        n = 4 + strcspn(p + 4, "/");
    if (n >= sizeof c->req_client)
        n = sizeof c->req_client - 1;
    memcpy(c->req_client, p, n);
    c->req_client[n] = '\0';
}

void ctl_on_message(void *ud, const qms_mqtt_msg *msg)
{
    qms_ctl *c = ud;
    /* the dashboard's requests obey the same reply rule as every request:
     * checked here, before their handlers, so no path skips it */
    if ((strcmp(msg->topic, ctl_topic(c, "alert/ack")) == 0 ||
         strcmp(msg->topic, ctl_topic(c, "report")) == 0 ||
         strcmp(msg->topic, ctl_topic(c, "stream/replay")) == 0) &&
        !msg->retained && bad_response_topic(c, msg))
        return;
    if (ctl_alerts_on_message(c, msg) || ctl_report_on_message(c, msg) ||
        ctl_stream_on_message(c, msg))
        return;
    int counter = 0;
    qms_topic_kind kind = qms_proto_topic(msg->topic, c->site, &counter);
    if (kind == QMS_TOPIC_NONE)
        return;
    if (msg->retained) {
        /* a request someone published with retain would run again at every
         * reconnect; requests are never retained */
        QMS_WARN("ignored a retained message on %s (requests must not be retained)", msg->topic);
        return;
    }
    c->nreq++;
    if (++c->batch_reqs > c->max_batch)
        c->max_batch = c->batch_reqs;
    if (bad_response_topic(c, msg))
        return;
    qms_request r;
    char why[160];
    int rc = qms_proto_decode(kind, counter, msg->payload, msg->len < 0 ? 0 : (size_t)msg->len, &r,
                              why, sizeof why);
    if (rc) {
        refuse_malformed(c, msg, &r, rc, why);
        return;
    }
    if (c->fatal) {
        ctl_batch_add_reply(c, msg, qms_proto_error_reply(r.req, QMS_ERR_DB, r.en), NULL);
        return;
    }

    /* the de-dup key: the request id within its topic, so two clients that
     * happen to pick the same id on different topics do not collide */
    char key[QMS_PROTO_REQ_MAX + 48];
    if (kind == QMS_TOPIC_COUNTER_CMD)
        snprintf(key, sizeof key, "counter/%d|%s", r.counter, r.req);
    else
        snprintf(key, sizeof key, "%s|%s",
                 kind == QMS_TOPIC_TAKE          ? "ticket/take"
                 : kind == QMS_TOPIC_CANCEL      ? "ticket/cancel"
                 : kind == QMS_TOPIC_BOOK_MAKE   ? "booking/make"
                 : kind == QMS_TOPIC_BOOK_CANCEL ? "booking/cancel"
                                                 : "booking/slots",
                 r.req);
    int remember = qms_op_changes_state(r.op);
    if (remember) {
        const ctl_pending *p = ctl_batch_find(c, key);
        char *stored = NULL;
        if (p) {
            c->ndup++;
            ctl_batch_add_reply(c, msg, qms_strdup(p->body), NULL);
            return;
        }
        int frc = qms_store_find_reply(c->store, key, &stored);
        if (frc == QMS_OK && stored) {
            c->ndup++;
            QMS_DEBUG("repeated request %s answered from the store", key);
            ctl_batch_add_reply(c, msg, stored, NULL);
            return;
        }
        if (frc != QMS_OK) {
            QMS_ERROR("store lookup of %s failed: %s", key, qms_err_code(frc));
            ctl_batch_add_reply(c, msg, qms_proto_error_reply(r.req, QMS_ERR_DB, r.en), NULL);
            c->fatal = frc;
            return;
        }
    }

    cJSON *o = cJSON_CreateObject();
    if (!o) {
        QMS_ERROR("out of memory on request %s", key);
        ctl_batch_add_reply(c, msg, qms_proto_error_reply(r.req, QMS_ERR_NOMEM, r.en), NULL);
        return;
    }
    cJSON_AddStringToObject(o, "req", r.req);
    req_client(c, msg->response_topic);
    rc = execute(c, &r, o);
    if (rc == QMS_ERR_UNKNOWN_SERVICE || rc == QMS_ERR_UNKNOWN_COUNTER)
        QMS_WARN("refused %s on %s (req %s)", qms_err_code(rc), msg->topic, r.req);
    else if (rc)
        QMS_DEBUG("refused %s: %s", key, qms_err_code(rc));
    if (rc == QMS_ERR_NOMEM || rc == QMS_ERR_DB || rc == QMS_ERR_RATE_LIMITED)
        remember = 0; /* not an answer worth keeping: a retry may well succeed */
    answer(c, msg, &r, remember ? key : NULL, rc, o);
    cJSON_Delete(o);
}
