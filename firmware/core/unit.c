#include "unit.h"

#include "font.h"
#include "keys.h"

#include <string.h>

/* ---- the key-event FIFO ------------------------------------------------- */

static struct fw_entry *fifo_at(struct fw_unit *u, unsigned i)
{
    return &u->fifo[(u->fifo_head + i) % QMS_FIFO_DEPTH];
}

/* Queues one event; a full FIFO refuses it (counted) — never overwrites an
 * unacknowledged press. Returns 1 when queued. */
static int fifo_push(struct fw_unit *u, uint16_t key, uint16_t arg, uint16_t tag)
{
    if (u->fifo_count == QMS_FIFO_DEPTH) {
        if (u->dropped != 0xFFFFu)
            u->dropped++;
        return 0;
    }
    uint16_t seq = (uint16_t)(u->last_seq + 1u);
    if (seq == 0)
        seq = 1; /* 0 means "none" */
    struct fw_entry *e = fifo_at(u, u->fifo_count);
    e->seq = seq;
    e->key = key;
    e->arg = arg;
    e->tag = tag;
    u->fifo_count++;
    u->last_seq = seq;
    return 1;
}

/* An ack is good when the session is set and it names an entry in the FIFO
 * or repeats the last ack (its reply was lost). */
static int ack_ok(const struct fw_unit *u, uint16_t ack)
{
    if (ack == 0 || (u->hr[QMS_HR_SESSION_HI] == 0 && u->hr[QMS_HR_SESSION_LO] == 0))
        return 0;
    if (ack == u->last_ack)
        return 1;
    for (unsigned i = 0; i < u->fifo_count; i++)
        if (u->fifo[(u->fifo_head + i) % QMS_FIFO_DEPTH].seq == ack)
            return 1;
    return 0;
}

static void fifo_ack(struct fw_unit *u, uint16_t ack)
{
    /* Sequences in the FIFO are consecutive: drop from the oldest up to and
     * including ack (in serial-number order, so the wrap 65535 -> 1 works). */
    while (u->fifo_count > 0 && (int16_t)(uint16_t)(ack - fifo_at(u, 0)->seq) >= 0) {
        memset(fifo_at(u, 0), 0, sizeof(struct fw_entry));
        u->fifo_head = (uint8_t)((u->fifo_head + 1u) % QMS_FIFO_DEPTH);
        u->fifo_count--;
    }
    u->last_ack = ack;
}

/* ---- the register map --------------------------------------------------- */

static void refresh(void *ctx, uint8_t fc, uint16_t start, uint16_t count)
{
    struct fw_unit *u = ctx;
    (void)start;
    (void)count;
    if (fc == QMS_FC_READ_HOLDING) {
        uint32_t left = 0;
        if (u->blinking)
            left = (u->blink_end_ms - u->now_ms + 999u) / 1000u;
        u->hr[QMS_HR_BLINK] = (uint16_t)(left > 0xFFFFu ? 0xFFFFu : left);
        return;
    }
    uint16_t *ir = u->ir;
    memset(ir, 0, sizeof u->ir);
    ir[QMS_IR_KIND] = u->kind;
    ir[QMS_IR_FW_VERSION] = QMS_FW_VERSION;
    ir[QMS_IR_UPTIME_HI] = (uint16_t)(u->uptime_s >> 16);
    ir[QMS_IR_UPTIME_LO] = (uint16_t)(u->uptime_s & 0xFFFFu);
    ir[QMS_IR_ERR_CRC] = u->stats.crc;
    ir[QMS_IR_ERR_FRAMING] = u->stats.framing;
    ir[QMS_IR_ERR_OVERRUN] = u->stats.overrun;
    ir[QMS_IR_WDT_RESETS] = u->wdt_resets;
    ir[QMS_IR_SESSION_HI] = u->hr[QMS_HR_SESSION_HI];
    ir[QMS_IR_SESSION_LO] = u->hr[QMS_HR_SESSION_LO];
    ir[QMS_IR_FIFO_COUNT] = u->fifo_count;
    ir[QMS_IR_LAST_ACK] = u->last_ack;
    ir[QMS_IR_KEYS_DROPPED] = u->dropped;
    ir[QMS_IR_LAST_SEQ] = u->last_seq;
    for (unsigned i = 0; i < u->fifo_count; i++) {
        const struct fw_entry *e = fifo_at(u, i);
        uint16_t *r = ir + QMS_IR_FIFO + i * QMS_FIFO_ENTRY_REGS;
        r[QMS_FIFO_SEQ] = e->seq;
        r[QMS_FIFO_KEY] = e->key;
        r[QMS_FIFO_ARG] = e->arg;
        r[QMS_FIFO_TAG] = e->tag;
    }
}

static uint8_t map_write(void *ctx, uint16_t start, const uint16_t *v, uint16_t count)
{
    struct fw_unit *u = ctx;
    /* Validate everything first: a refused request changes nothing. The ack
     * is checked against the session as it was before this request. */
    for (uint16_t i = 0; i < count; i++) {
        unsigned reg = (unsigned)start + i;
        if (reg == QMS_HR_ACK_SEQ && !ack_ok(u, v[i]))
            return QMS_EX_ILLEGAL_VALUE;
        if (reg == QMS_HR_RATING_LEVELS && (v[i] < 3 || v[i] > 5))
            return QMS_EX_ILLEGAL_VALUE;
    }
    for (uint16_t i = 0; i < count; i++) {
        unsigned reg = (unsigned)start + i;
        switch (reg) {
        case QMS_HR_ACK_SEQ:
            fifo_ack(u, v[i]);
            u->hr[reg] = v[i];
            break;
        case QMS_HR_BLINK:
            u->blinking = v[i] != 0;
            u->blink_end_ms = u->now_ms + (uint32_t)v[i] * 1000u;
            u->hr[reg] = v[i];
            break;
        case QMS_HR_RESERVED_6:
        case QMS_HR_RESERVED_7:
            break;
        default:
            u->hr[reg] = v[i];
        }
    }
    if ((unsigned)start + count > QMS_HR_LINE0)
        u->lines_changed = 1;
    return 0;
}

void fw_unit_init(struct fw_unit *u, const struct fw_config *cfg, uint32_t now_ms)
{
    memset(u, 0, sizeof *u);
    u->kind = cfg->kind;
    u->addr = cfg->addr;
    u->wdt_resets = cfg->wdt_resets;
    u->hr[QMS_HR_RATING_LEVELS] = 4;
    u->now_ms = now_ms;
    u->lines_changed = 1;
    u->map.ir = u->ir;
    u->map.ir_count = QMS_IR_COUNT;
    u->map.hr = u->hr;
    u->map.hr_count = QMS_HR_COUNT;
    u->map.refresh = refresh;
    u->map.write = map_write;
    u->map.ctx = u;
}

void fw_unit_tick(struct fw_unit *u, uint32_t now_ms)
{
    uint32_t d = now_ms - u->now_ms;
    u->now_ms = now_ms;
    u->uptime_ms_lo += d;
    while (u->uptime_ms_lo >= 1000u) {
        u->uptime_ms_lo -= 1000u;
        u->uptime_s++;
    }
    if (u->blinking && (int32_t)(now_ms - u->blink_end_ms) >= 0) {
        u->blinking = 0;
        u->hr[QMS_HR_BLINK] = 0;
    }
}

/* ---- keys ------------------------------------------------------------ */

static void press_counter(struct fw_unit *u, int key)
{
    if (key >= FW_KEY_D0 && key < FW_KEY_D0 + 10) {
        if (u->typed_digits < 4) {
            u->typed = (uint16_t)(u->typed * 10u + (unsigned)(key - FW_KEY_D0));
            u->typed_digits++;
        }
        return;
    }
    if (key == FW_KEY_CLEAR) {
        u->typed = 0;
        u->typed_digits = 0;
        return;
    }
    uint16_t arg = u->typed_digits ? u->typed : (uint16_t)QMS_ARG_NONE;
    uint16_t code;
    if (key == FW_KEY_OK) {
        if (!u->typed_digits)
            return; /* nothing to call */
        code = QMS_KEY_OK;
    } else if (key >= FW_KEY_NEXT && key <= FW_KEY_RESUME) {
        code = (uint16_t)(QMS_KEY_NEXT + (unsigned)(key - FW_KEY_NEXT));
    } else {
        return; /* rating keys: not on this kind */
    }
    if (fifo_push(u, code, arg, 0)) {
        u->typed = 0;
        u->typed_digits = 0;
    }
}

static void press_rating(struct fw_unit *u, int key)
{
    if (key < FW_KEY_RATE1 || key >= FW_KEY_RATE1 + 5)
        return;
    uint16_t level = (uint16_t)(key - FW_KEY_RATE1 + 1);
    uint16_t token = u->hr[QMS_HR_RATING_TOKEN];
    if (token == 0 || level > u->hr[QMS_HR_RATING_LEVELS])
        return; /* dark keys, or a level this center does not use */
    if (fifo_push(u, QMS_KEY_RATE, level, token))
        u->hr[QMS_HR_RATING_TOKEN] = 0; /* one rating per ask */
}

void fw_unit_press(struct fw_unit *u, int key)
{
    if (u->kind == QMS_KIND_COUNTER)
        press_counter(u, key);
    else if (u->kind == QMS_KIND_RATING)
        press_rating(u, key);
}

/* ---- what it shows ------------------------------------------------------- */

unsigned fw_utf8_next(const char *s, unsigned n, uint32_t *cp)
{
    const uint8_t *p = (const uint8_t *)s;
    if (n == 0)
        return 0;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    unsigned len;
    uint32_t c, min;
    if ((p[0] & 0xE0u) == 0xC0u) {
        len = 2, c = p[0] & 0x1Fu, min = 0x80;
    } else if ((p[0] & 0xF0u) == 0xE0u) {
        len = 3, c = p[0] & 0x0Fu, min = 0x800;
    } else if ((p[0] & 0xF8u) == 0xF0u) {
        len = 4, c = p[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (unsigned i = 1; i < len; i++) {
        if ((p[i] & 0xC0u) != 0x80u)
            return 0;
        c = (c << 6) | (p[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFFu || (c >= 0xD800u && c <= 0xDFFFu))
        return 0;
    *cp = c;
    return len;
}

/* Line n as a C string: the valid UTF-8 prefix of its bytes, up to NUL. */
static unsigned line_text(const struct fw_unit *u, unsigned n, char *out)
{
    char raw[QMS_LINE_BYTES];
    unsigned len = 0;
    for (unsigned i = 0; i < QMS_LINE_REGS; i++) {
        uint16_t r = u->hr[QMS_HR_LINE(n) + i];
        raw[2 * i] = (char)(r >> 8);
        raw[2 * i + 1] = (char)(r & 0xFFu);
    }
    while (len < QMS_LINE_BYTES && raw[len] != 0)
        len++;
    unsigned ok = 0;
    uint32_t cp;
    for (unsigned k; ok < len && (k = fw_utf8_next(raw + ok, len - ok, &cp)) > 0;)
        ok += k;
    memcpy(out, raw, ok);
    out[ok] = 0;
    return ok;
}

static void append(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(dst), m = strlen(s);
    if (n + m >= cap)
        m = cap - 1 - n;
    memcpy(dst + n, s, m);
    dst[n + m] = 0;
}

int fw_unit_view(struct fw_unit *u, struct fw_view *v)
{
    char old[FW_VIEW_TEXT];
    char line[QMS_LINE_BYTES + 1];
    memcpy(old, v->text, sizeof old);
    v->kind = u->kind;
    v->blinking = u->blinking;
    v->blink_on = !u->blinking || ((u->now_ms / 500u) % 2u) == 0;
    v->rating_levels = 0;
    v->text[0] = 0;
    line_text(u, 0, v->line0);
    switch (u->kind) {
    case QMS_KIND_COUNTER:
        append(v->text, sizeof v->text, v->line0[0] ? v->line0 : "----");
        if (u->typed_digits) {
            char t[8] = "> ";
            unsigned d = u->typed_digits, x = u->typed;
            for (unsigned i = 0; i < d; i++, x /= 10)
                t[2 + d - 1 - i] = (char)('0' + x % 10);
            t[2 + d] = 0;
            append(v->text, sizeof v->text, " | ");
            append(v->text, sizeof v->text, t);
        } else if (line_text(u, 1, line) > 0) {
            append(v->text, sizeof v->text, " | ");
            append(v->text, sizeof v->text, line);
        }
        break;
    case QMS_KIND_LEDBOARD:
        append(v->text, sizeof v->text, v->line0[0] ? v->line0 : "----");
        if (u->blinking)
            append(v->text, sizeof v->text, " (blink)");
        break;
    case QMS_KIND_RATING:
        if (u->hr[QMS_HR_RATING_TOKEN]) {
            char t[] = "rating on 1-?";
            t[12] = (char)('0' + u->hr[QMS_HR_RATING_LEVELS]);
            append(v->text, sizeof v->text, t);
            v->rating_levels = (uint8_t)u->hr[QMS_HR_RATING_LEVELS];
        } else {
            append(v->text, sizeof v->text, "rating off");
        }
        break;
    case QMS_KIND_HALL:
        for (unsigned n = 0; n < QMS_LINES; n++) {
            unsigned len = line_text(u, n, line);
            if (u->lines_changed)
                fw_hall_render_line(u, n, line, len);
            if (n > 0)
                append(v->text, sizeof v->text, " | ");
            append(v->text, sizeof v->text, line);
        }
        break;
    default:
        append(v->text, sizeof v->text, "?");
    }
    u->lines_changed = 0;
    return strcmp(old, v->text) != 0;
}

/* ---- the hall board's frame ----------------------------------------------- */

static const struct fw_glyph *glyph(uint32_t cp)
{
    unsigned lo = 0, hi = fw_font_count;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (fw_font_glyphs[mid].cp == cp)
            return &fw_font_glyphs[mid];
        if (fw_font_glyphs[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void dot(struct fw_unit *u, unsigned x, unsigned y)
{
    if (x < FW_HALL_W && y < FW_HALL_H)
        u->frame[y][x / 8] |= (uint8_t)(0x80u >> (x % 8));
}

unsigned fw_hall_render_line(struct fw_unit *u, unsigned row, const char *s, unsigned n)
{
    unsigned y0 = row * FW_HALL_LINE_H, x = 1;
    memset(u->frame[y0], 0, sizeof u->frame[0] * FW_HALL_LINE_H);
    uint32_t cp;
    for (unsigned i = 0, k; i < n && (k = fw_utf8_next(s + i, n - i, &cp)) > 0; i += k) {
        const struct fw_glyph *g = glyph(cp);
        if (!g) { /* a box for what the font lacks */
            for (unsigned c = 0; c < 6; c++)
                for (unsigned r = 3; r < 14; r++)
                    if (c == 0 || c == 5 || r == 3 || r == 13)
                        dot(u, x + c, y0 + r);
            x += 7;
            continue;
        }
        for (unsigned c = 0; c < g->width; c++) {
            uint16_t col = fw_font_cols[g->offset + c];
            for (unsigned r = 0; r < FW_HALL_LINE_H; r++)
                if (col & (1u << r))
                    dot(u, x + c, y0 + r);
        }
        x += g->width;
    }
    return x > FW_HALL_W ? FW_HALL_W : x;
}

void fw_hall_row_text(const struct fw_unit *u, unsigned y, char *out)
{
    for (unsigned x = 0; x < FW_HALL_W; x++)
        out[x] = y < FW_HALL_H && (u->frame[y][x / 8] & (0x80u >> (x % 8))) ? '#' : '.';
    out[FW_HALL_W] = 0;
}
