/* For the bench only: many units on one line without QEMU. The firmware's
 * own portable core (firmware/core: the Modbus RTU server, the register
 * map, the key FIFO, the views) built for the host, one struct fw_unit per
 * address, behind one pseudo-terminal; every reply is held back for the
 * wire time of its request and itself at the baud rate, plus the 3.5
 * character silence, so the line behaves like an RS-485 line at that speed
 * with units that answer at once. */
#ifndef QMS_UNIT_FARM_H
#define QMS_UNIT_FARM_H

#include <pthread.h>
#include <stdint.h>

typedef struct unit_farm unit_farm;

/* kinds[i], addrs[i] for n units; path of the line's pty into line. */
unit_farm *farm_start(int n, const int *kinds, const int *addrs, int baud, char line[64]);
void farm_stop(unit_farm *f);
/* Press key (FW_KEY_*) on unit i (debounced already). */
void farm_press(unit_farm *f, int i, int key);
/* The next reply of unit i is held ms longer than its wire time (a unit
 * that answers late: after the gateway's timeout, across the next
 * request). */
void farm_late(unit_farm *f, int i, int ms);
/* Unit i stops answering (on = 1) or answers again (0): a unit unplugged. */
void farm_mute(unit_farm *f, int i, int on);
/* How many late replies went out. */
int farm_late_sent(unit_farm *f);
/* Unit i's view text now (what its panel would print after "display "). */
void farm_view(unit_farm *f, int i, char *out, int cap);

#endif
