#include "voice.h"

#include "qms/alloc.h"
#include "qms/clock.h"
#include "qms/err.h"
#include "qms/file.h"
#include "qms/log.h"

#include <SDL.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct clip {
    const char *name; /* static: from the pack list */
    int16_t *pcm;     /* mono at QMS_VOICE_RATE, edges trimmed */
    size_t n;
} clip;

typedef struct pending {
    char ticket[32];
    int counter;
    int recall;
    int64_t seq;
    int64_t queued_ms;
} pending;

struct qms_voice {
    qms_voice_opts o;
    char dirs[QMS_VOICE_DIRS][1024];
    char lang[8];
    char wav_dir[1024];
    clip *clips;
    int nclips;
    int has_pack;
    SDL_AudioDeviceID dev; /* 0: not playing */
    pending q[QMS_VOICE_QUEUE];
    int qhead, qlen;
    int64_t busy_until;  /* monotonic ms when the current announcement ends, 0 idle */
    int count;           /* announcements started */
    char warned[16][32]; /* missing clips already logged */
    int nwarned;
};

/* Drop the silence espeak-ng and microphones leave at both ends, so the
 * gaps between words are ours. The threshold (~ -48 dBFS) is below speech
 * and above dither; 10 ms stay on each side so no consonant is clipped. */
static void trim(int16_t *pcm, size_t *n)
{
    const int thr = 128;
    const size_t margin = QMS_VOICE_RATE / 100;
    size_t a = 0, b = *n;
    while (a < b && abs(pcm[a]) < thr)
        a++;
    while (b > a && abs(pcm[b - 1]) < thr)
        b--;
    if (a == b)
        return; /* all quiet: leave it as recorded */
    a = a > margin ? a - margin : 0;
    b = b + margin < *n ? b + margin : *n;
    memmove(pcm, pcm + a, (b - a) * sizeof *pcm);
    *n = b - a;
}

/* Load a WAV file of any format SDL reads and convert it to ours. */
static int load_wav(const char *path, int16_t **pcm, size_t *n)
{
    SDL_AudioSpec spec;
    Uint8 *buf = NULL;
    Uint32 len = 0;
    if (!SDL_LoadWAV(path, &spec, &buf, &len))
        return QMS_ERR_IO;
    SDL_AudioCVT cvt;
    int rc = SDL_BuildAudioCVT(&cvt, spec.format, spec.channels, spec.freq, AUDIO_S16SYS, 1,
                               QMS_VOICE_RATE);
    if (rc < 0) {
        SDL_FreeWAV(buf);
        return QMS_ERR_PROTOCOL;
    }
    cvt.len = (int)len;
    cvt.buf = qms_malloc((size_t)len * (size_t)(cvt.len_mult > 0 ? cvt.len_mult : 1) + 16);
    if (!cvt.buf) {
        SDL_FreeWAV(buf);
        return QMS_ERR_NOMEM;
    }
    memcpy(cvt.buf, buf, len);
    SDL_FreeWAV(buf);
    if (rc == 1 && SDL_ConvertAudio(&cvt) != 0) {
        qms_free(cvt.buf);
        return QMS_ERR_PROTOCOL;
    }
    int outlen = rc == 1 ? cvt.len_cvt : (int)len;
    *pcm = (int16_t *)cvt.buf;
    *n = (size_t)outlen / sizeof(int16_t);
    trim(*pcm, n);
    return QMS_OK;
}

static const clip *find_clip(const qms_voice *v, const char *name)
{
    for (int i = 0; i < v->nclips; i++)
        if (strcmp(v->clips[i].name, name) == 0)
            return &v->clips[i];
    return NULL;
}

static int load_one(qms_voice *v, const char *name)
{
    for (int d = 0; d < v->o.ndirs; d++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s.wav", v->dirs[d], name);
        int16_t *pcm;
        size_t n;
        int rc = load_wav(path, &pcm, &n);
        if (rc == QMS_ERR_IO)
            continue; /* not in this folder: try the next */
        if (rc) {
            QMS_WARN("voice clip %s unreadable (%s)", path, qms_err_code(rc));
            continue;
        }
        v->clips[v->nclips].name = name;
        v->clips[v->nclips].pcm = pcm;
        v->clips[v->nclips].n = n;
        v->nclips++;
        return 1;
    }
    return 0;
}

static int lang_has(const char *lang, const char *l)
{
    return strstr(lang, l) != NULL;
}

int qms_voice_new(const qms_voice_opts *o, qms_voice **out)
{
    *out = NULL;
    qms_voice *v = qms_calloc(1, sizeof *v);
    if (!v)
        return QMS_ERR_NOMEM;
    v->o = *o;
    snprintf(v->lang, sizeof v->lang, "%s", o->lang && *o->lang ? o->lang : "vi");
    v->o.lang = v->lang;
    if (v->o.repeat < 1)
        v->o.repeat = 1;
    for (int i = 0; i < o->ndirs && i < QMS_VOICE_DIRS; i++) {
        snprintf(v->dirs[i], sizeof v->dirs[i], "%s", o->dirs[i]);
        v->o.dirs[i] = v->dirs[i];
    }
    if (o->wav_dir) {
        snprintf(v->wav_dir, sizeof v->wav_dir, "%s", o->wav_dir);
        v->o.wav_dir = v->wav_dir;
    }
    const char *const *vn, *const *en, *const *txt;
    int nvi = qms_spell_pack_list("vi", &vn, &txt);
    int nen = qms_spell_pack_list("en", &en, &txt);
    v->clips = qms_calloc((size_t)(nvi + nen + 1), sizeof *v->clips);
    if (!v->clips) {
        qms_free(v);
        return QMS_ERR_NOMEM;
    }
    int need = 1, found = load_one(v, "chime");
    if (lang_has(v->lang, "vi"))
        for (int i = 0; i < nvi; i++, need++)
            found += load_one(v, vn[i]);
    if (lang_has(v->lang, "en"))
        for (int i = 0; i < nen; i++, need++)
            found += load_one(v, en[i]);
    v->has_pack = find_clip(v, "chime") || find_clip(v, "vi_moi") || find_clip(v, "en_ticket");
    if (!v->has_pack)
        QMS_WARN("no voice pack found in %s%s: announcements are silent (make one with "
                 "scripts/make-voice-pack.sh)",
                 o->ndirs ? v->dirs[0] : "(no folder given)", o->ndirs > 1 ? " ..." : "");
    else if (found < need)
        QMS_WARN("voice pack: %d of %d clips found; the missing ones are left out", found, need);
    else
        QMS_INFO("voice pack: %d clips, language %s", found, v->lang);

    if (o->play && v->has_pack) {
        if (SDL_InitSubSystem(SDL_INIT_AUDIO) != 0) {
            QMS_WARN("no audio (%s): announcements are not played", SDL_GetError());
        } else {
            SDL_AudioSpec want = {0}, have;
            want.freq = QMS_VOICE_RATE;
            want.format = AUDIO_S16SYS;
            want.channels = 1;
            want.samples = 1024;
            v->dev = SDL_OpenAudioDevice(NULL, 0, &want, &have, 0);
            if (!v->dev) {
                QMS_WARN("cannot open audio device (%s): announcements are not played",
                         SDL_GetError());
                SDL_QuitSubSystem(SDL_INIT_AUDIO);
            } else {
                SDL_PauseAudioDevice(v->dev, 0);
            }
        }
    }
    *out = v;
    return QMS_OK;
}

void qms_voice_free(qms_voice *v)
{
    if (!v)
        return;
    if (v->dev) {
        SDL_CloseAudioDevice(v->dev);
        SDL_QuitSubSystem(SDL_INIT_AUDIO);
    }
    for (int i = 0; i < v->nclips; i++)
        qms_free(v->clips[i].pcm);
    qms_free(v->clips);
    qms_free(v);
}

int qms_voice_has_pack(const qms_voice *v)
{
    return v->has_pack;
}

int qms_voice_clip_count(const qms_voice *v)
{
    return v->nclips;
}

int qms_voice_pending(const qms_voice *v)
{
    return v->qlen;
}

/* One sentence in one language: "Mời khách hàng số <label> đến quầy số <n>". */
static int sentence(const qms_voice_opts *o, const char *lang, const char *ticket, int counter,
                    qms_voice_piece *out, int max)
{
    int en = strcmp(lang, "en") == 0;
    const char *label[QMS_WORDS_MAX], *num[16];
    int nl = qms_spell_label(ticket, lang, o->dialect, o->read_mode, label, QMS_WORDS_MAX);
    if (nl < 0)
        return nl;
    int nn = qms_spell_number_clips(counter, lang, o->dialect, num, 16);
    if (nn < 0)
        return nn;
    if (2 + nl + nn > max)
        return -QMS_ERR_TOO_LARGE;
    int k = 0;
    out[k++] = (qms_voice_piece){en ? "en_ticket" : "vi_moi", QMS_GAP_PHRASE};
    for (int i = 0; i < nl; i++)
        out[k++] = (qms_voice_piece){label[i], i == nl - 1 ? QMS_GAP_PHRASE : QMS_GAP_WORD};
    out[k++] = (qms_voice_piece){en ? "en_counter" : "vi_den_quay", QMS_GAP_PHRASE};
    for (int i = 0; i < nn; i++)
        out[k++] = (qms_voice_piece){num[i], QMS_GAP_WORD};
    return k;
}

int qms_voice_script(const qms_voice_opts *o, const char *ticket, int counter, qms_voice_piece *out,
                     int max)
{
    if (counter < 0 || counter > QMS_SPELL_MAX || max < 1)
        return counter < 0 || counter > QMS_SPELL_MAX ? -QMS_ERR_INVAL : -QMS_ERR_TOO_LARGE;
    const char *lang = o->lang && *o->lang ? o->lang : "vi";
    const char *langs[2];
    int nlang = 0;
    if (lang_has(lang, "vi") || !lang_has(lang, "en"))
        langs[nlang++] = "vi";
    if (lang_has(lang, "en"))
        langs[nlang++] = "en";
    int repeat = o->repeat < 1 ? 1 : o->repeat;
    int k = 0;
    out[k++] = (qms_voice_piece){"chime", QMS_GAP_CHIME};
    for (int l = 0; l < nlang; l++)
        for (int r = 0; r < repeat; r++) {
            int n = sentence(o, langs[l], ticket, counter, out + k, max - k);
            if (n < 0)
                return n;
            k += n;
            out[k - 1].gap_ms = QMS_GAP_REPEAT; /* the pause before the next saying */
        }
    out[k - 1].gap_ms = 0;
    return k;
}

static void warn_missing(qms_voice *v, const char *name)
{
    for (int i = 0; i < v->nwarned; i++)
        if (strcmp(v->warned[i], name) == 0)
            return;
    QMS_WARN("voice clip %s missing from the pack: left out", name);
    if (v->nwarned < 16)
        snprintf(v->warned[v->nwarned++], sizeof v->warned[0], "%s", name);
}

int qms_voice_render(qms_voice *v, const char *ticket, int counter, int16_t **pcm, size_t *n)
{
    *pcm = NULL;
    *n = 0;
    qms_voice_piece p[4 * QMS_WORDS_MAX];
    int np = qms_voice_script(&v->o, ticket, counter, p, (int)(sizeof p / sizeof p[0]));
    if (np < 0)
        return -np;
    size_t total = 0;
    for (int i = 0; i < np; i++) {
        const clip *c = find_clip(v, p[i].clip);
        if (c)
            total += c->n + (size_t)p[i].gap_ms * QMS_VOICE_RATE / 1000;
    }
    int16_t *buf = qms_calloc(total ? total : 1, sizeof *buf);
    if (!buf)
        return QMS_ERR_NOMEM;
    size_t at = 0;
    for (int i = 0; i < np; i++) {
        const clip *c = find_clip(v, p[i].clip);
        if (!c) {
            if (v->has_pack)
                warn_missing(v, p[i].clip);
            continue;
        }
        memcpy(buf + at, c->pcm, c->n * sizeof *buf);
        at += c->n + (size_t)p[i].gap_ms * QMS_VOICE_RATE / 1000; /* calloc'd: silence */
    }
    *pcm = buf;
    *n = total;
    return QMS_OK;
}

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

typedef struct {
    const int16_t *pcm;
    size_t n;
} wav_src;

static int write_wav(FILE *f, void *ctx)
{
    const wav_src *w = ctx;
    const int16_t *pcm = w->pcm;
    size_t n = w->n;
    if (n > (UINT32_MAX - 44) / 2)
        return QMS_ERR_TOO_LARGE;
    unsigned char h[44];
    uint32_t data = (uint32_t)(n * 2);
    memcpy(h, "RIFF", 4);
    put_le(h + 4, 36 + data, 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le(h + 16, 16, 4);
    put_le(h + 20, 1, 2); /* PCM */
    put_le(h + 22, 1, 2); /* mono */
    put_le(h + 24, QMS_VOICE_RATE, 4);
    put_le(h + 28, QMS_VOICE_RATE * 2, 4);
    put_le(h + 32, 2, 2);
    put_le(h + 34, 16, 2);
    memcpy(h + 36, "data", 4);
    put_le(h + 40, data, 4);
    int ok = fwrite(h, 1, 44, f) == 44;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char s[2];
        put_le(s, (uint16_t)pcm[i], 2);
        ok = fwrite(s, 1, 2, f) == 2;
    }
    return ok ? QMS_OK : QMS_ERR_IO;
}

int qms_wav_write(const char *path, const int16_t *pcm, size_t n)
{
    wav_src w = {pcm, n};
    return qms_file_replace(path, write_wav, &w);
}

int qms_voice_enqueue(qms_voice *v, const char *ticket, int counter, int recall, int64_t seq,
                      int64_t now_ms)
{
    if (v->qlen == QMS_VOICE_QUEUE) {
        /* The hall is better served by the newest calls than by a backlog
         * of old ones: drop the oldest waiting announcement. */
        QMS_WARN("voice: %d announcements waiting; dropping %s", v->qlen, v->q[v->qhead].ticket);
        v->qhead = (v->qhead + 1) % QMS_VOICE_QUEUE;
        v->qlen--;
    }
    pending *p = &v->q[(v->qhead + v->qlen) % QMS_VOICE_QUEUE];
    snprintf(p->ticket, sizeof p->ticket, "%s", ticket);
    p->counter = counter;
    p->recall = recall;
    p->seq = seq;
    p->queued_ms = now_ms;
    v->qlen++;
    return QMS_OK;
}

static void safe_name(char *out, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        out[i] = ok ? c : '_';
    }
    out[i] = 0;
}

/* One JSON line per announcement: what was said, and when (monotonic ms,
 * the same clock for every process on the machine). */
static void manifest(qms_voice *v, const pending *p, const char *file, int64_t start, int64_t end,
                     size_t samples)
{
    if (!v->o.wav_dir)
        return;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddNumberToObject(o, "n", v->count);
    cJSON_AddStringToObject(o, "file", file ? file : "");
    cJSON_AddStringToObject(o, "ticket", p->ticket);
    cJSON_AddNumberToObject(o, "counter", p->counter);
    cJSON_AddBoolToObject(o, "recall", p->recall);
    cJSON_AddNumberToObject(o, "seq", (double)p->seq);
    cJSON_AddBoolToObject(o, "silent", samples == 0);
    cJSON *clips = cJSON_AddArrayToObject(o, "clips");
    qms_voice_piece pc[4 * QMS_WORDS_MAX];
    int np = qms_voice_script(&v->o, p->ticket, p->counter, pc, (int)(sizeof pc / sizeof pc[0]));
    for (int i = 0; clips && i < np; i++)
        if (find_clip(v, pc[i].clip))
            cJSON_AddItemToArray(clips, cJSON_CreateString(pc[i].clip));
    cJSON_AddNumberToObject(o, "queued_ms", (double)p->queued_ms);
    cJSON_AddNumberToObject(o, "start_ms", (double)start);
    cJSON_AddNumberToObject(o, "end_ms", (double)end);
    cJSON_AddNumberToObject(o, "samples", (double)samples);
    cJSON_AddNumberToObject(o, "rate", QMS_VOICE_RATE);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line)
        return;
    char path[1100];
    snprintf(path, sizeof path, "%s/announcements.jsonl", v->o.wav_dir);
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    } else {
        QMS_WARN("cannot write %s", path);
    }
    cJSON_free(line);
}

static void start_next(qms_voice *v, int64_t now)
{
    pending p = v->q[v->qhead];
    v->qhead = (v->qhead + 1) % QMS_VOICE_QUEUE;
    v->qlen--;
    v->count++;
    if (!v->has_pack) {
        manifest(v, &p, NULL, now, now, 0);
        return; /* silent: nothing to wait for */
    }
    int16_t *pcm = NULL;
    size_t n = 0;
    int rc = qms_voice_render(v, p.ticket, p.counter, &pcm, &n);
    if (rc) {
        QMS_WARN("cannot announce %s at counter %d: %s", p.ticket, p.counter, qms_err_code(rc));
        return;
    }
    int64_t dur = (int64_t)n * 1000 / QMS_VOICE_RATE;
    if (v->dev && SDL_QueueAudio(v->dev, pcm, (Uint32)(n * sizeof *pcm)) != 0)
        QMS_WARN("audio: %s", SDL_GetError());
    char file[128] = "";
    if (v->o.wav_dir) {
        char t[40], path[1200];
        safe_name(t, sizeof t, p.ticket);
        snprintf(file, sizeof file, "%04d-%s-c%d%s.wav", v->count, t, p.counter,
                 p.recall ? "-recall" : "");
        snprintf(path, sizeof path, "%s/%s", v->o.wav_dir, file);
        if (qms_wav_write(path, pcm, n) != QMS_OK) {
            QMS_WARN("cannot write %s", path);
            file[0] = 0;
        }
    }
    QMS_INFO("announce %s counter %d%s (%lld ms)", p.ticket, p.counter, p.recall ? " (recall)" : "",
             (long long)dur);
    manifest(v, &p, file[0] ? file : NULL, now, now + dur, n);
    v->busy_until = now + dur;
    qms_free(pcm);
}

int qms_voice_tick(qms_voice *v, int64_t now)
{
    if (v->busy_until && now < v->busy_until)
        return (int)(v->busy_until - now);
    /* A real device may lag our clock a little: wait for it to drain too,
     * so two announcements never sound at once. */
    if (v->dev && SDL_GetQueuedAudioSize(v->dev) > 0)
        return 20;
    v->busy_until = 0;
    while (v->qlen) {
        start_next(v, now);
        if (v->busy_until > now)
            return (int)(v->busy_until - now);
    }
    return -1;
}
