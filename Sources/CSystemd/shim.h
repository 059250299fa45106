#ifndef SLUICE_CSYSTEMD_SHIM_H
#define SLUICE_CSYSTEMD_SHIM_H
#include <systemd/sd-daemon.h>
#endif
