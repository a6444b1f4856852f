/* Spoken calls: "Mời khách hàng số A023 đến quầy số 5" assembled from a
 * voice pack of clips (a chime, phrases, letter names, number words) and
 * played through SDL audio one announcement after another, never
 * overlapping. Each announcement can also be written to a WAV file, with a
 * line in <wav-dir>/announcements.jsonl saying what it holds and when it
 * played.
 *
 * A voice pack is a folder of WAV files named after the clips
 * (chime.wav, vi_moi.wav, vi_muoi_ngang.wav ...; the list is in spell.c).
 * Several folders may be given: the first that has a clip wins, so a
 * folder of recorded clips can replace the generated ones one by one. */
#ifndef QMS_DISPLAY_VOICE_H
#define QMS_DISPLAY_VOICE_H

#include "spell.h"

#include <stdint.h>

#define QMS_VOICE_RATE 22050 /* samples per second, mono, signed 16 bit */
#define QMS_VOICE_DIRS 4
#define QMS_VOICE_QUEUE 32 /* announcements waiting; beyond, the oldest is dropped */

/* Silences between the parts of an announcement (ms). */
#define QMS_GAP_CHIME 300  /* after the chime */
#define QMS_GAP_WORD 40    /* between the words of one phrase */
#define QMS_GAP_PHRASE 150 /* between "... số", the label, "đến quầy số", the counter */
#define QMS_GAP_REPEAT 700 /* between two sayings of the sentence */

typedef struct qms_voice_opts {
    const char *dirs[QMS_VOICE_DIRS]; /* clip folders, first wins */
    int ndirs;
    const char *lang;        /* "vi" (default), "en", or "vi+en" (both, Vietnamese first) */
    qms_vi_dialect dialect;  /* linh/nghìn or lẻ/ngàn */
    qms_read_mode read_mode; /* label digits as one number (default) or one by one */
    int repeat;              /* how many times the sentence is said (default 1) */
    const char *wav_dir;     /* write every announcement here; NULL: none */
    int play;                /* open an SDL audio device and play */
} qms_voice_opts;

/* One part of an announcement: a clip, then a silence. */
typedef struct qms_voice_piece {
    const char *clip; /* clip name ("chime", "vi_moi", ...) */
    int gap_ms;       /* silence after it */
} qms_voice_piece;

/* The announcement of ticket at counter as clips in order: chime, then the
 * sentence repeat times (per language). Returns the piece count or
 * -QMS_ERR_INVAL (unreadable label, counter out of 0..9999),
 * -QMS_ERR_TOO_LARGE (max too small). */
int qms_voice_script(const qms_voice_opts *o, const char *ticket, int counter, qms_voice_piece *out,
                     int max);

typedef struct qms_voice qms_voice;

/* Load the clips and, with o->play, open the audio device. A missing pack
 * is not an error: the voice is then silent and says so once in the log.
 * An audio device that cannot be opened is logged and playing is skipped
 * (WAV files are still written). */
int qms_voice_new(const qms_voice_opts *o, qms_voice **out);
void qms_voice_free(qms_voice *v);

/* 1 if a pack with at least the chime or the opening phrase was found. */
int qms_voice_has_pack(const qms_voice *v);
/* Number of clips loaded. */
int qms_voice_clip_count(const qms_voice *v);

/* Queue the announcement of a call (a recall is announced again, like a
 * call). now_ms: monotonic time. */
int qms_voice_enqueue(qms_voice *v, const char *ticket, int counter, int recall, int64_t seq,
                      int64_t now_ms);

/* Start the next announcement when the previous one has finished. Call it
 * from the event loop; returns the ms until it wants to be called again,
 * or -1 when nothing is playing or waiting. */
int qms_voice_tick(qms_voice *v, int64_t now_ms);

/* Announcements queued but not started yet. */
int qms_voice_pending(const qms_voice *v);

/* Build the PCM of an announcement from the loaded clips. *pcm is
 * qms_malloc'd (qms_free it), *n its sample count. Missing clips are left
 * out. QMS_OK, or an error of qms_voice_script, or QMS_ERR_NOMEM. */
int qms_voice_render(qms_voice *v, const char *ticket, int counter, int16_t **pcm, size_t *n);

/* Write mono 16-bit PCM at QMS_VOICE_RATE as a WAV file. */
int qms_wav_write(const char *path, const int16_t *pcm, size_t n);

#endif
