#ifndef SLUICE_CMOSQUITTO_SHIM_H
#define SLUICE_CMOSQUITTO_SHIM_H
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

/// errno as the calling thread sees it, and a way to clear it: libmosquitto's
/// mosquitto_loop_read reports "no more data" only through errno (EAGAIN).
static inline int sluice_mosquitto_errno(void) { return errno; }
static inline void sluice_mosquitto_clear_errno(void) { errno = 0; }
#endif
