/* The kiosk's test script: one command a line, run in order by the real
 * event loop (taps become real SDL mouse events), so tests drive exactly
 * what a citizen's finger drives.
 *
 *   # comment
 *   tap X Y                  press and release at window pixel X,Y
 *   tap-service CODE         tap the tile of service CODE (on the visible page)
 *   tap-priority CLASS       normal | elderly | disabled | pregnant | child
 *   tap-lang                 tap the Vietnamese / English toggle
 *   tap-back                 tap "back"
 *   tap-next / tap-prev      next / previous page of services
 *   tap-checkin              the welcome screen's "I have an appointment"
 *   tap-key K                a key of the check-in keypad: a code character, or "del"
 *   tap-ok                   the keypad's OK
 *   type HEX                 keyboard text (bytes in hex, at most 120), typed as fast
 *                            as a USB scanner does, then Enter
 *   wait MS                  let MS milliseconds pass (the loop keeps running)
 *   wait-screen NAME [MS]    wait until screen NAME shows (default 10000 ms), else fail
 *   expect-screen NAME       fail unless screen NAME shows now
 *   screenshot NAME          save the screen as <screenshot-dir>/NAME.png
 *   wait-file NAME [MS]      wait until <screenshot-dir>/NAME exists (default 10000 ms),
 *                            else fail: lets a test change the world at a known moment
 *   quit                     stop (the script's end also stops)
 */
#ifndef QMS_KIOSK_SCRIPT_H
#define QMS_KIOSK_SCRIPT_H

#include <stddef.h>

typedef enum {
    KS_TAP,
    KS_TAP_SERVICE,
    KS_TAP_PRIORITY,
    KS_TAP_LANG,
    KS_TAP_BACK,
    KS_TAP_NEXT,
    KS_TAP_PREV,
    KS_WAIT,
    KS_WAIT_SCREEN,
    KS_EXPECT_SCREEN,
    KS_SCREENSHOT,
    KS_WAIT_FILE,
    KS_QUIT,
    KS_TAP_CHECKIN,
    KS_TAP_KEY,
    KS_TAP_OK,
    KS_TYPE,
} kiosk_script_op;

#define KIOSK_SCRIPT_ARG_MAX 48
#define KIOSK_SCRIPT_TEXT_MAX 121
#define KIOSK_SCRIPT_MAX_CMDS 10000

typedef struct kiosk_script_cmd {
    kiosk_script_op op;
    int x, y;                       /* KS_TAP */
    int ms;                         /* KS_WAIT; KS_WAIT_SCREEN, KS_WAIT_FILE timeout */
    char arg[KIOSK_SCRIPT_ARG_MAX]; /* code, class, screen or file name */
    char text[KIOSK_SCRIPT_TEXT_MAX]; /* KS_TYPE: the bytes, NUL-terminated */
    int line;                       /* 1-based line in the script */
} kiosk_script_cmd;

typedef struct kiosk_script {
    kiosk_script_cmd *cmds;
    int n;
} kiosk_script;

/* Parse script text. On a bad line: QMS_ERR_INVAL and "line N: why" in err;
 * nothing is kept. Names are checked for shape only ([A-Za-z0-9_.-], no
 * leading dot), so a screenshot name can never leave its folder. */
int kiosk_script_parse(const char *text, size_t len, kiosk_script *out, char *err, size_t errlen);
int kiosk_script_load(const char *path, kiosk_script *out, char *err, size_t errlen);
void kiosk_script_free(kiosk_script *s);

#endif
